"""BatchFeature: a dict with attribute access, tensor conversion and .to()."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from modelyard import BatchFeature
from modelyard.errors import FeatureExtractionError


def test_dict_and_attribute_access() -> None:
    batch = BatchFeature({"input_values": [[1.0, 2.0]], "attention_mask": [[1, 1]]}, tensor_type="np")
    assert batch.input_values.dtype == np.float64 and batch["attention_mask"].dtype.kind == "i"
    assert set(batch) == {"input_values", "attention_mask"}
    with pytest.raises(KeyError, match="indexed by name"):
        batch[0]
    with pytest.raises(AttributeError, match="no key 'pixel_values'"):
        _ = batch.pixel_values
    again = pickle.loads(pickle.dumps(batch))
    np.testing.assert_array_equal(again["input_values"], batch["input_values"])


def test_conversions() -> None:
    torch = pytest.importorskip("torch")
    batch = BatchFeature({"x": [np.zeros(3, np.float32), np.ones(3, np.float32)], "m": [[1, 0, 1], [1, 1, 1]]})
    batch.convert_to_tensors("pt")
    assert batch["x"].shape == (2, 3) and batch["m"].dtype == torch.int64
    batch.to(torch.float16)
    assert batch["x"].dtype == torch.float16 and batch["m"].dtype == torch.int64  # masks keep their type
    batch.to("cpu")
    with pytest.raises(FeatureExtractionError, match="device"):
        batch.to(3.5)
    with pytest.raises(FeatureExtractionError, match="'np'.*'pt'"):
        BatchFeature({"x": [1]}, tensor_type="tf")
    with pytest.raises(FeatureExtractionError, match=r"different shapes \[\(2,\), \(3,\)\]"):
        BatchFeature({"x": [np.zeros(2), np.zeros(3)]}, tensor_type="pt")
    ragged = BatchFeature({"x": [np.zeros(2), np.zeros(3)], "l": [[1, 2], [3]]}, tensor_type="np")
    assert ragged["x"].dtype == object and [len(r) for r in ragged["x"]] == [2, 3]
    assert [r.tolist() for r in ragged["l"]] == [[1, 2], [3]]
