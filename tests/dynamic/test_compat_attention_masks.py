"""``transformers.modeling_attn_mask_utils`` in the compatibility namespace: the same masks as the reference's
(exact: they are built from comparisons and one constant, no arithmetic that rounds)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import torch
from _corpus_runner import REFERENCE_PYTHON

from modelyard.compat.transformers import modeling_attn_mask_utils as masks

# (batch, query length, past length, sliding window, padding pattern or None, dtype)
CASES = [
    (2, 5, 0, None, None, "float32"),
    (2, 5, 0, None, [[0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], "float32"),
    (1, 1, 6, None, [[1, 1, 1, 1, 1, 1, 1]], "float32"),
    (2, 3, 4, None, [[0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1]], "float16"),
    (1, 6, 0, 3, None, "float32"),
    (2, 4, 3, 2, [[1] * 7, [0, 0, 1, 1, 1, 1, 1]], "bfloat16"),
    (1, 1, 5, 3, None, "float32"),
    (3, 4, 0, None, [[1, 1, 1, 1]] * 3, "float32"),
]


def _ours(case: tuple) -> dict[str, object]:
    batch, query, past, window, padding, dtype_name = case
    dtype = getattr(torch, dtype_name)
    embeds = torch.zeros(batch, query, 4, dtype=dtype)
    mask = torch.tensor(padding) if padding is not None else None
    shape = (batch, query)

    def plain(t: torch.Tensor | None) -> object:
        return None if t is None else t.float().tolist()

    out = {
        "causal": plain(masks._prepare_4d_causal_attention_mask(mask, shape, embeds, past, sliding_window=window)),
        "causal_sdpa": plain(masks._prepare_4d_causal_attention_mask_for_sdpa(mask, shape, embeds, past,
                                                                              sliding_window=window)),
        "created": plain(masks._create_4d_causal_attention_mask(shape, dtype, "cpu", past, sliding_window=window)),
    }
    if mask is not None and window is None:
        out["bidirectional"] = plain(masks._prepare_4d_attention_mask(mask, dtype, tgt_len=query))
        out["bidirectional_sdpa"] = plain(masks._prepare_4d_attention_mask_for_sdpa(mask, dtype, tgt_len=query))
    return out


def test_a_causal_mask_hides_the_future_and_padding() -> None:
    mask = masks._prepare_4d_causal_attention_mask(torch.tensor([[0, 1, 1]]), (1, 3), torch.zeros(1, 3, 2), 0)
    lowest = torch.finfo(torch.float32).min
    assert mask.shape == (1, 1, 3, 3)
    assert (mask[0, 0] == lowest).tolist() == [[True, True, True], [True, False, True], [True, False, False]]
    window = masks.AttentionMaskConverter(True, sliding_window=1).to_causal_4d(1, 4, 4, torch.float32)
    assert (window[0, 0] == 0).tolist() == [[True, False, False, False], [True, True, False, False],
                                            [False, True, True, False], [False, False, True, True]]
    assert masks._prepare_4d_causal_attention_mask_for_sdpa(None, (1, 3), torch.zeros(1, 3, 2), 0) is None
    with pytest.raises(ValueError, match="must have shape \\(1, 1, 3, 3\\)"):
        masks._prepare_4d_causal_attention_mask(torch.ones(1, 1, 3, 2), (1, 3), torch.zeros(1, 3, 2), 0)
    with pytest.raises(ValueError, match="sliding_window must be a positive"):
        masks.AttentionMaskConverter(True, sliding_window=0)


@pytest.mark.reference
@pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason="needs the reference environment (make reference)")
def test_masks_equal_the_references(tmp_path: Path) -> None:
    script = tmp_path / "masks.py"
    script.write_text(
        "import json, sys, torch\nfrom transformers import modeling_attn_mask_utils as masks\n"
        "out = []\n"
        "for batch, query, past, window, padding, dtype_name in json.loads(sys.argv[1]):\n"
        "    dtype = getattr(torch, dtype_name)\n"
        "    embeds = torch.zeros(batch, query, 4, dtype=dtype)\n"
        "    mask = torch.tensor(padding) if padding is not None else None\n"
        "    shape = (batch, query)\n"
        "    plain = lambda t: None if t is None else t.float().tolist()\n"
        "    item = {\n"
        "        'causal': plain(masks._prepare_4d_causal_attention_mask(mask, shape, embeds, past, sliding_window=window)),\n"
        "        'causal_sdpa': plain(masks._prepare_4d_causal_attention_mask_for_sdpa(mask, shape, embeds, past, sliding_window=window)),\n"
        "        'created': plain(masks._create_4d_causal_attention_mask(shape, dtype, 'cpu', past, sliding_window=window)),\n"
        "    }\n"
        "    if mask is not None and window is None:\n"
        "        item['bidirectional'] = plain(masks._prepare_4d_attention_mask(mask, dtype, tgt_len=query))\n"
        "        item['bidirectional_sdpa'] = plain(masks._prepare_4d_attention_mask_for_sdpa(mask, dtype, tgt_len=query))\n"
        "    out.append(item)\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([str(REFERENCE_PYTHON), str(script), json.dumps(CASES)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    reference = json.loads(result.stdout.strip().splitlines()[-1])
    for case, expected in zip(CASES, reference, strict=True):
        assert _ours(case) == expected, case


def test_the_check_before_remote_code_runs_sees_the_private_helpers() -> None:
    from modelyard.compat.transformers._namespace import provides

    for name in ("_prepare_4d_causal_attention_mask", "_prepare_4d_causal_attention_mask_for_sdpa",
                 "_prepare_4d_attention_mask", "_prepare_4d_attention_mask_for_sdpa", "AttentionMaskConverter"):
        assert provides(masks, name), name
    assert not provides(masks, "_not_a_reference_helper")
