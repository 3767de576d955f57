"""Our safetensors reader against the safetensors package: same tensors, same refusals, views of the file."""

from __future__ import annotations

import gc
import json
import struct
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from modelyard.errors import WeightsError
from modelyard.weights import safetensors_reader
from modelyard.weights.safetensors_reader import SafetensorsFile

_DTYPES = [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
           torch.int8, torch.uint8, torch.bool, torch.float8_e4m3fn, torch.float8_e5m2, torch.uint16, torch.uint32,
           torch.uint64, torch.complex64]


def _sample(dtype: torch.dtype, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if dtype == torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    if dtype.is_floating_point or dtype.is_complex:
        return (torch.randn(shape, generator=g) * 3).to(dtype)
    return torch.randint(0, 100, shape, generator=g).to(dtype)


def _bytes_of(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.reshape(-1).view(torch.uint8)


def _write_raw(path: Path, header: dict, data: bytes, *, pad_to: int = 8) -> None:
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % pad_to)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


def test_every_dtype_and_shape_matches_the_safetensors_package(tmp_path: Path) -> None:
    shapes = [(3, 5), (7,), (), (0, 4), (2, 3, 4)]
    tensors = {f"t.{d}.{i}".replace("torch.", ""): _sample(d, s, i)
               for i, s in enumerate(shapes) for d in _DTYPES}
    path = tmp_path / "model.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt", "note": "x"})

    opened = SafetensorsFile(path)
    assert opened.metadata == {"format": "pt", "note": "x"}
    with safe_open(str(path), framework="pt") as reference:
        assert set(opened.shapes) == set(reference.keys())
        for key in reference.keys():
            ours, theirs = opened.tensor(key), reference.get_tensor(key)
            assert opened.shapes[key] == tuple(theirs.shape)
            assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, key
            assert torch.equal(_bytes_of(ours), _bytes_of(theirs)), key  # bitwise: NaNs and -0.0 count


def test_tensors_are_private_views_with_their_own_storage(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    save_file({"a": torch.arange(6.0), "b": torch.ones(3)}, str(path))
    before = path.read_bytes()
    opened = SafetensorsFile(path)
    a, b = opened.tensor("a"), opened.tensor("b")
    assert a.untyped_storage().data_ptr() != b.untyped_storage().data_ptr()
    assert a.untyped_storage().nbytes() == a.nbytes  # safetensors' save_file sees no shared memory
    a.mul_(10)  # copy-on-write: the file keeps its bytes
    assert a.tolist() == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    del opened
    assert path.read_bytes() == before
    assert SafetensorsFile(path).tensor("a").tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    save_file({"a": a, "b": b}, str(tmp_path / "again.safetensors"))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_the_map_is_released_with_the_last_tensor(tmp_path: Path) -> None:
    path = tmp_path / "released.safetensors"
    save_file({"a": torch.zeros(1024, 256)}, str(path))

    def mapped() -> bool:
        return any(str(path) in line for line in Path("/proc/self/maps").read_text().splitlines())

    opened = SafetensorsFile(path)
    tensor = opened.tensor("a")
    del opened
    gc.collect()
    assert mapped()
    del tensor
    gc.collect()
    assert not mapped()


def test_misaligned_data_is_copied_to_aligned_memory(tmp_path: Path) -> None:
    values = torch.tensor([1.5, -2.25, 3.0], dtype=torch.float64)
    path = tmp_path / "odd.safetensors"
    header = {"x": {"dtype": "F64", "shape": [3], "data_offsets": [0, 24]}}
    _write_raw(path, header, values.numpy().tobytes(), pad_to=1)  # header length 55: data starts at byte 63
    assert (8 + struct.unpack("<Q", path.read_bytes()[:8])[0]) % 8 != 0
    tensor = SafetensorsFile(path).tensor("x")
    assert torch.equal(tensor, values) and tensor.data_ptr() % 8 == 0


def test_big_endian_hosts_swap_each_element(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.safetensors"
    original = torch.tensor([1, 256, 65536], dtype=torch.int32)
    save_file({"x": original, "flags": torch.tensor([True, False])}, str(path))
    monkeypatch.setattr(safetensors_reader, "_BIG_ENDIAN_HOST", True)
    opened = SafetensorsFile(path)
    # On this little-endian machine a swap turns each value into its byte-reversed twin.
    assert opened.tensor("x").tolist() == [1 << 24, 1 << 16, 1 << 8]
    assert opened.tensor("flags").tolist() == [True, False]  # one-byte types are left alone


@pytest.mark.parametrize(
    ("header", "data", "needle"),
    [
        ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "cover 8 bytes"),
        ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 12, "trailing bytes"),
        ({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8, "needs 12 bytes"),
        ({"x": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8, "'Q7'"),
        ({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, b"\0" * 8, "invalid shape"),
        ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, b"\0" * 8, "invalid data_offsets"),
        ({"x": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, "needs 'dtype', 'shape' and 'data_offsets'"),
        ({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
          "y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12, "overlaps"),
        ({"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "gap at byte 0"),
        ({"__metadata__": {"format": 3}}, b"", "'__metadata__' must map strings to strings"),
    ],
)
def test_corrupt_headers_are_refused_naming_the_file(tmp_path: Path, header: dict, data: bytes, needle: str) -> None:
    path = tmp_path / "bad.safetensors"
    _write_raw(path, header, data)
    with pytest.raises(WeightsError, match="bad.safetensors") as caught:
        SafetensorsFile(path)
    assert needle in str(caught.value)


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\x01\x02", "only 2 bytes"),
        (struct.pack("<Q", 10**9) + b"{}", "header claims 1000000000 bytes"),
        (struct.pack("<Q", 4) + b"nope", "not JSON"),
        (struct.pack("<Q", 2) + b"[]", "expected a JSON object"),
    ],
)
def test_files_that_are_not_safetensors_are_refused(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="model.safetensors") as caught:
        SafetensorsFile(path)
    assert needle in str(caught.value)


def test_from_pretrained_reports_a_corrupt_checkpoint(tmp_path: Path) -> None:
    from modelyard import DistilBertConfig, DistilBertModel

    config = DistilBertConfig(vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32, max_position_embeddings=20)
    DistilBertModel(config).save_pretrained(tmp_path)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-4])  # a truncated download
    with pytest.raises(WeightsError, match="truncated"):
        DistilBertModel.from_pretrained(tmp_path)
