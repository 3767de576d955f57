"""``from_pretrained(device_map=...)`` that splits a model: modules on the CPU and on disk (offloading).

What a user of the reference relies on: the outputs are the model's, the modules mapped to ``"disk"`` hold no
weights in memory between forwards (meta parameters, read again at each forward), a safetensors checkpoint
is read in place, any other source is written to ``offload_folder`` in accelerate's format (``index.json`` and
one ``.dat`` per tensor), and saving the model gives back every weight.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from common.tolerance import assert_close_kernels, assert_same_weights
from safetensors.torch import save_file
from torch import nn

from modelyard import BertConfig, BertForMaskedLM, BertModel, PretrainedConfig, PreTrainedModel
from modelyard.errors import ConfigurationError

pytest.importorskip("accelerate")

TINY_BERT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=16)
IDS = torch.tensor([[2, 5, 7, 9, 3, 0, 0], [2, 11, 12, 13, 14, 15, 3]])
MASK = (IDS != 0).long()
SPLIT = {"embeddings": "cpu", "encoder.layer.0": "cpu", "encoder.layer.1": "disk", "encoder.layer.2": "disk",
         "pooler": "cpu"}


@pytest.fixture(scope="module")
def bert() -> BertModel:
    torch.manual_seed(0)
    return BertModel(BertConfig(**TINY_BERT)).eval()


@pytest.fixture
def saved(bert: BertModel, tmp_path: Path) -> Path:
    bert.save_pretrained(tmp_path / "bert")
    return tmp_path / "bert"


def _disk_parameters(model: nn.Module) -> dict[str, nn.Parameter]:
    return {n: p for n, p in model.named_parameters() if n.startswith(("encoder.layer.1.", "encoder.layer.2."))}


def test_disk_modules_give_the_model_outputs_and_hold_no_weights(bert: BertModel, saved: Path) -> None:
    model = BertModel.from_pretrained(saved, device_map=SPLIT)
    on_disk = _disk_parameters(model)
    assert on_disk and all(p.device.type == "meta" for p in on_disk.values())
    assert all(p.device.type == "cpu" for n, p in model.named_parameters() if n not in on_disk)
    assert model.hf_device_map == SPLIT

    with torch.no_grad():  # (meta weights cannot compute: equal outputs prove they were read for the forward)
        expected = bert(IDS, attention_mask=MASK).last_hidden_state
        actual = model(IDS, attention_mask=MASK).last_hidden_state
    assert all(p.device.type == "meta" for p in _disk_parameters(model).values())  # dropped after it
    assert_close_kernels(actual, expected, depth=5, what="offloaded vs whole model")


def test_a_safetensors_checkpoint_is_read_in_place_without_a_folder(saved: Path, tmp_path: Path) -> None:
    folder = tmp_path / "offload"
    model = BertModel.from_pretrained(saved, device_map=SPLIT, offload_folder=folder)
    # Nothing is copied: the disk modules read the checkpoint's own file.
    assert not folder.exists() or not any(folder.iterdir())
    assert model is not None


def test_a_pickle_checkpoint_is_written_to_the_offload_folder(bert: BertModel, tmp_path: Path) -> None:
    bert.save_pretrained(tmp_path / "bin", safe_serialization=False)
    with pytest.raises(ConfigurationError, match="offload_folder"):
        BertModel.from_pretrained(tmp_path / "bin", device_map=SPLIT)

    folder = tmp_path / "offload"
    model = BertModel.from_pretrained(tmp_path / "bin", device_map=SPLIT, offload_folder=folder)
    index = json.loads((folder / "index.json").read_text())
    disk_keys = sorted(k for k in bert.state_dict() if k.startswith(("encoder.layer.1.", "encoder.layer.2.")))
    assert sorted(index) == disk_keys
    assert sorted(p.name for p in folder.glob("*.dat")) == sorted(f"{k}.dat" for k in disk_keys)
    key = "encoder.layer.2.output.dense.weight"
    assert index[key] == {"dtype": "float32", "shape": [32, 37]}
    stored = np.memmap(folder / f"{key}.dat", dtype="float32", mode="r", shape=(32, 37))
    assert torch.equal(torch.from_numpy(np.array(stored)), bert.state_dict()[key])
    with torch.no_grad():
        assert_close_kernels(model(IDS, attention_mask=MASK).last_hidden_state,
                             bert(IDS, attention_mask=MASK).last_hidden_state, depth=5)


def test_bfloat16_weights_are_offloaded_as_their_bits(bert: BertModel, tmp_path: Path) -> None:
    """numpy has no bfloat16: accelerate's format keeps the bits as int16 and says "bfloat16" in the index."""
    bert.save_pretrained(tmp_path / "bin", safe_serialization=False)
    folder = tmp_path / "offload"
    model = BertModel.from_pretrained(tmp_path / "bin", device_map=SPLIT, offload_folder=folder, dtype=torch.bfloat16)
    key = "encoder.layer.1.attention.self.query.weight"
    assert json.loads((folder / "index.json").read_text())[key] == {"dtype": "bfloat16", "shape": [32, 32]}
    bits = np.memmap(folder / f"{key}.dat", dtype="int16", mode="r", shape=(32, 32))
    assert torch.equal(torch.from_numpy(np.array(bits)).view(torch.bfloat16), bert.state_dict()[key].bfloat16())
    whole = BertModel.from_pretrained(tmp_path / "bin", dtype=torch.bfloat16)
    with torch.no_grad():
        assert_close_kernels(model(IDS).last_hidden_state, whole(IDS).last_hidden_state, depth=5)


def test_a_safetensors_checkpoint_is_read_back_in_the_loaded_dtype(saved: Path) -> None:
    model = BertModel.from_pretrained(saved, device_map=SPLIT, dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    whole = BertModel.from_pretrained(saved, dtype=torch.bfloat16)
    with torch.no_grad():
        assert_close_kernels(model(IDS).last_hidden_state, whole(IDS).last_hidden_state, depth=5)


def test_saving_an_offloaded_model_gives_back_every_weight(bert: BertModel, saved: Path, tmp_path: Path) -> None:
    model = BertModel.from_pretrained(saved, device_map=SPLIT)
    model.save_pretrained(tmp_path / "again")
    assert_same_weights(BertModel.from_pretrained(tmp_path / "again"), bert)


@pytest.mark.parametrize("device_map", [
    {"bert": "cpu", "cls": "disk"},  # the head on disk, its decoder tied to the embeddings kept in memory
    {"bert.embeddings": "disk", "bert.encoder": "cpu", "cls": "cpu"},  # the tied embeddings on disk
])
def test_tied_weights_across_the_map(device_map: dict[str, str], tmp_path: Path) -> None:
    torch.manual_seed(0)
    whole = BertForMaskedLM(BertConfig(**TINY_BERT)).eval()
    whole.save_pretrained(tmp_path / "mlm")
    model = BertForMaskedLM.from_pretrained(tmp_path / "mlm", device_map=device_map)
    disk = tuple(k + "." for k, v in device_map.items() if v == "disk")
    params = dict(model.named_parameters(remove_duplicate=False))
    in_memory = {id(p) for n, p in params.items() if not n.startswith(disk)}
    # what is on disk holds no data, but for a weight tied to one kept in memory (the same tensor)
    assert all(p.device.type == "meta" for n, p in params.items() if n.startswith(disk) and id(p) not in in_memory)
    assert any(p.device.type == "meta" for n, p in params.items() if n.startswith(disk))
    with torch.no_grad():
        assert_close_kernels(model(IDS, attention_mask=MASK).logits, whole(IDS, attention_mask=MASK).logits, depth=5)
    model.save_pretrained(tmp_path / "again")
    assert_same_weights(BertForMaskedLM.from_pretrained(tmp_path / "again"), whole)


class _TwoLinears(PreTrainedModel):
    config_class = PretrainedConfig
    base_model_prefix = "base"
    _keys_to_ignore_on_load_unexpected = [r"^mtp"]

    def __init__(self, config: PretrainedConfig) -> None:
        super().__init__(config)
        self.linear = nn.Linear(50, 50)
        self.linear_2 = nn.Linear(50, 50)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.linear(x))


def test_sharded_checkpoint_with_unexpected_keys(tmp_path: Path) -> None:
    """Shards that hold only offloaded weights, and a checkpoint key the model ignores, as the reference's test."""
    torch.manual_seed(0)
    model = _TwoLinears(PretrainedConfig())
    model.config.save_pretrained(tmp_path)
    state = {**model.state_dict(), "mtp": torch.randn(50, 50)}
    shards = {f"model-0000{i + 1}-of-00005.safetensors": {k: state[k].contiguous()} for i, k in enumerate(state)}
    weight_map = {k: name for name, tensors in shards.items() for k in tensors}
    for name, tensors in shards.items():
        save_file(tensors, str(tmp_path / name), metadata={"format": "pt"})
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))

    loaded, info = _TwoLinears.from_pretrained(tmp_path, device_map={"linear": "cpu", "linear_2": "disk"},
                                               output_loading_info=True)
    assert info["unexpected_keys"] == [] and info["missing_keys"] == []  # "mtp" is ignored, as the class declares
    assert loaded.linear_2.weight.device.type == "meta" and loaded.linear.weight.device.type == "cpu"
    x = torch.randn(3, 50)
    with torch.no_grad():
        assert_close_kernels(loaded(x), model(x), depth=2)


def test_missing_weights_of_disk_modules_are_initialised_into_the_folder(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = _TwoLinears(PretrainedConfig())
    model.config.save_pretrained(tmp_path)
    save_file({"linear.weight": model.linear.weight.detach(), "linear.bias": model.linear.bias.detach()},
              str(tmp_path / "model.safetensors"), metadata={"format": "pt"})
    device_map = {"linear": "cpu", "linear_2": "disk"}
    with pytest.raises(ConfigurationError, match="offload_folder"):
        _TwoLinears.from_pretrained(tmp_path, device_map=device_map)
    folder = tmp_path / "offload"
    loaded, info = _TwoLinears.from_pretrained(tmp_path, device_map=device_map, offload_folder=folder,
                                               output_loading_info=True)
    assert sorted(info["missing_keys"]) == ["linear_2.bias", "linear_2.weight"]
    assert sorted(json.loads((folder / "index.json").read_text())) == ["linear_2.bias", "linear_2.weight"]
    assert loaded.linear_2.weight.device.type == "meta"
    assert loaded(torch.randn(2, 50)).shape == (2, 50)


def test_a_map_that_misses_weights_or_names_no_module_is_refused(saved: Path) -> None:
    with pytest.raises(ConfigurationError, match="no device for .*pooler"):
        BertModel.from_pretrained(saved, device_map={"embeddings": "cpu", "encoder": "disk"})
    with pytest.raises(ConfigurationError, match="not modules"):
        BertModel.from_pretrained(saved, device_map={"": "cpu", "decoder": "disk"})
    with pytest.raises(ConfigurationError, match="not both"):
        BertModel.from_pretrained(saved, device_map=SPLIT, device="cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_a_gpu_entry_without_a_gpu_is_refused(saved: Path) -> None:
    with pytest.raises(ConfigurationError, match="no CUDA device"):
        BertModel.from_pretrained(saved, device_map={"": "cpu", "pooler": 0})
