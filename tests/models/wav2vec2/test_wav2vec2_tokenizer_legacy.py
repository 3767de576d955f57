"""``Wav2Vec2Tokenizer``, the older class the reference still ships: it prepares raw audio when called (padding,
normalisation, attention mask) and decodes CTC ids; checked against the reference's behaviour."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from modelyard import AutoTokenizer, Wav2Vec2Tokenizer

REPO_ROOT = Path(__file__).resolve().parents[3]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"
VOCAB = "<pad> <s> </s> <unk> | E T A O N I H S R D L U M W C F G Y P B V K ' X J Q Z".split(" ")


@pytest.fixture
def vocab_file(tmp_path: Path) -> Path:
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps(dict(zip(VOCAB, range(len(VOCAB))))), encoding="utf-8")
    return path


def _tokenizer(vocab_file: Path, **kwargs: object) -> Wav2Vec2Tokenizer:
    with pytest.warns(FutureWarning, match="deprecated"):
        return Wav2Vec2Tokenizer(str(vocab_file), **kwargs)


def _speech() -> list[list[float]]:
    rng = np.random.default_rng(0)
    return [(rng.integers(-64, 64, n) / 64).tolist() for n in (8, 10, 12)]


def test_raw_audio_is_batched_padded_with_zeros_and_masked_on_request(vocab_file: Path) -> None:
    tokenizer = _tokenizer(vocab_file)
    speech = _speech()
    ragged = tokenizer(speech).input_values
    assert [len(row) for row in ragged] == [8, 10, 12] and "attention_mask" not in tokenizer(speech)
    padded = tokenizer(speech, padding="longest").input_values
    assert isinstance(padded, np.ndarray) and padded.shape == (3, 12) and not padded[0, 8:].any()
    np.testing.assert_array_equal(padded[1, :10], speech[1])
    assert tokenizer(speech, padding="max_length", max_length=16, pad_to_multiple_of=5).input_values.shape == (3, 20)
    single = tokenizer(speech[0]).input_values
    assert np.asarray(single).shape == (1, 8)
    as_torch = tokenizer(speech, padding=True, return_tensors="pt").input_values
    assert as_torch.dtype == torch.float32 and as_torch.shape == (3, 12)  # Python floats: torch's default dtype
    np.testing.assert_array_equal(tokenizer(np.asarray([speech[2]] * 2)).input_values[1], speech[2])
    with pytest.raises(ValueError, match="mono audio"):
        tokenizer(np.zeros((1, 2, 3)))
    masked = _tokenizer(vocab_file, return_attention_mask=True)(speech, padding="longest")
    assert masked.attention_mask.sum(-1).tolist() == [8, 10, 12]


def test_normalisation_gives_zero_mean_unit_variance_rows(vocab_file: Path) -> None:
    values = _tokenizer(vocab_file, do_normalize=True)(_speech(), padding="longest").input_values
    for row, length in zip(values, (8, 10, 12)):
        assert abs(row[:length].mean()) < 1e-6 and abs(row[:length].var() - 1) < 1e-3


def test_ctc_decoding_with_added_and_special_tokens(vocab_file: Path) -> None:
    tokenizer = _tokenizer(vocab_file)
    ids = [11, 5, 15, 0, 15, 8, 3, 4, 4, 24]
    assert tokenizer.decode(ids) == "HELLO<unk> B"
    assert tokenizer.batch_decode([ids, [11, 5, 5, 0, 1, 2]], skip_special_tokens=True) == ["HELO B", "HE"]  # the padding token goes before the repeats collapse
    tokenizer.add_tokens(["!", "?"])
    tokenizer.add_special_tokens({"cls_token": "$$$"})
    ids = [11, 5, 15, 0, 15, 8, 3, 32, 32, 33, 4, 32, 32, 33, 34, 34]
    assert tokenizer.decode(ids) == "HELLO<unk>!? !?$$$"
    assert tokenizer.decode(ids, skip_special_tokens=True) == "HELO!? !?"
    assert tokenizer.word_delimiter_token_id == 4 and tokenizer.vocab_size == 32


def test_saves_and_loads_with_its_settings(vocab_file: Path, tmp_path: Path) -> None:
    tokenizer = _tokenizer(vocab_file, do_normalize=True, return_attention_mask=True)
    files = tokenizer.save_pretrained(tmp_path / "saved")
    assert {Path(f).name for f in files} >= {"vocab.json", "tokenizer_config.json", "special_tokens_map.json"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = Wav2Vec2Tokenizer.from_pretrained(tmp_path / "saved")
        by_auto = AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert type(by_auto) is Wav2Vec2Tokenizer
    assert loaded.do_normalize and loaded.return_attention_mask and loaded.get_vocab() == tokenizer.get_vocab()
    for name in ("do_lower_case", "do_normalize", "return_attention_mask", "word_delimiter_token"):
        assert name in loaded.init_kwargs


_REFERENCE = """
import json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
from transformers import Wav2Vec2Tokenizer
t = Wav2Vec2Tokenizer(sys.argv[1], do_normalize=True, return_attention_mask=True)
speech = json.loads(sys.argv[2])
out = t(speech, padding="longest")
print(json.dumps({"values": out.input_values.tolist(), "mask": out.attention_mask.tolist(),
                  "decoded": t.batch_decode([[11, 5, 15, 0, 15, 8, 3, 4, 4, 24], [24, 22, 5, 1, 2, 4, 9]])}))
"""


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_matches_the_reference(vocab_file: Path) -> None:
    speech = _speech()
    proc = subprocess.run([str(REF_PY), "-c", _REFERENCE, str(vocab_file), json.dumps(speech)], capture_output=True,
                          text=True, timeout=120, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    expected = json.loads(proc.stdout.strip().splitlines()[-1])
    tokenizer = _tokenizer(vocab_file, do_normalize=True, return_attention_mask=True)
    out = tokenizer(speech, padding="longest")
    np.testing.assert_allclose(out.input_values, expected["values"], rtol=0, atol=1e-12)
    assert out.attention_mask.tolist() == expected["mask"]
    assert tokenizer.batch_decode([[11, 5, 15, 0, 15, 8, 3, 4, 4, 24], [24, 22, 5, 1, 2, 4, 9]]) == expected["decoded"]
