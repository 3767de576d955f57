"""What modelyard saves of the further heads (BERT pre-training, next-sentence and decoder heads, ViT masked
image modelling, the ResNet backbone, Wav2Vec2 pre-training and masked LM) loads in the reference library with
no missing or unexpected key and gives the same outputs (the other direction, reference checkpoints loading
here, is the parity fixtures' job); a BERT decoder saved on either side generates the same greedy tokens on the
other (tests/models/bert/test_bert_decoder_round_trip.py checks the same against the committed fixture)."""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from common.model_tester import perturb

import modelyard

REPO_ROOT = Path(__file__).resolve().parents[2]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"

_REFERENCE_LOAD = """
import json, sys, warnings, torch, transformers
warnings.simplefilter("ignore")
transformers.logging.set_verbosity_error()
report = {}
for folder in sys.argv[1:]:
    data = torch.load(folder + "/expected.pt")
    cls = getattr(transformers, json.load(open(folder + "/config.json"))["architectures"][0])
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    with torch.no_grad():
        out = model.eval()(**data["inputs"], return_dict=True).to_tuple()
    out = [t for v in out for t in (v if isinstance(v, tuple) else (v,)) if isinstance(t, torch.Tensor)]
    report[folder] = {"info": {k: [str(x) for x in v] for k, v in info.items() if v},
                      "diff": max((a - b).abs().max().item() for a, b in zip(out, data["outputs"], strict=True))}
print(json.dumps(report))
"""

BERT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
            max_position_embeddings=16)
W2V = dict(vocab_size=12, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
           conv_dim=(16, 16, 16), conv_stride=(5, 2, 2), conv_kernel=(10, 3, 3), num_conv_pos_embeddings=8,
           num_conv_pos_embedding_groups=2, num_codevectors_per_group=5, num_codevector_groups=2, codevector_dim=8,
           proj_codevector_dim=8)


def _cases() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 99, (2, 7), generator=g)
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 5:] = 0
    text = {"input_ids": ids, "attention_mask": mask}
    frames = torch.zeros(2, 15, dtype=torch.bool)
    frames[:, 3:9] = True
    negatives = (torch.arange(3, 9).roll(1)[None, :, None] + torch.tensor([0, 15])[:, None, None]).expand(2, 6, 3)
    sampled = torch.zeros(2, 15, 3, dtype=torch.long)
    sampled[:, 3:9] = negatives
    return [
        ("BertForPreTraining", "BertConfig", BERT, text),
        ("BertForNextSentencePrediction", "BertConfig", BERT, text),
        ("BertLMHeadModel", "BertConfig", dict(BERT, is_decoder=True, add_cross_attention=True, use_cache=False,
                                               position_embedding_type="relative_key_query"),
         dict(text, encoder_hidden_states=torch.randn(2, 4, 32, generator=g))),
        ("ViTForMaskedImageModeling", "ViTConfig",
         dict(hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, image_size=16,
              patch_size=4, encoder_stride=4),
         {"pixel_values": torch.randn(2, 3, 16, 16, generator=g), "bool_masked_pos": torch.rand(2, 16, generator=g) < 0.5}),
        ("ResNetBackbone", "ResNetConfig",
         dict(embedding_size=8, hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1], layer_type="basic",
              out_features=["stage1", "stage3"]),
         {"pixel_values": torch.randn(1, 3, 32, 32, generator=g)}),
        ("Wav2Vec2ForPreTraining", "Wav2Vec2Config", W2V,
         {"input_values": torch.randn(2, 320, generator=g), "mask_time_indices": frames,
          "sampled_negative_indices": sampled}),
        ("Wav2Vec2ForMaskedLM", "Wav2Vec2Config", W2V, {"input_values": torch.randn(2, 320, generator=g)}),
    ]


def _flat(output: Any) -> list[torch.Tensor]:
    items: list[torch.Tensor] = []
    for value in output.to_tuple():  # tensors, and the tensors of tuples (a backbone's feature maps)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, torch.Tensor):
                items.append(item)
    return items


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_our_saves_of_the_new_heads_load_in_the_reference_library(tmp_path: Path) -> None:
    folders = []
    for class_name, config_name, settings, inputs in _cases():
        torch.manual_seed(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            model = getattr(modelyard, class_name)(getattr(modelyard, config_name)(**settings))
        perturb(model)
        model.eval()
        folder = tmp_path / class_name
        model.save_pretrained(folder)
        with torch.no_grad():
            outputs = _flat(model(**inputs, return_dict=True))
        torch.save({"inputs": inputs, "outputs": outputs}, folder / "expected.pt")
        folders.append(str(folder))
    proc = subprocess.run([str(REF_PY), "-c", _REFERENCE_LOAD, *folders], capture_output=True, text=True,
                          timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report) == len(folders)
    for folder, result in report.items():
        assert result["info"] == {}, (folder, result["info"])
        assert result["diff"] <= 1e-4, (folder, result["diff"])


_REFERENCE_ROUND_TRIP = """
import json, sys, warnings, torch, transformers
warnings.simplefilter("ignore")
transformers.logging.set_verbosity_error()
ours, theirs = sys.argv[1], sys.argv[2]
data = torch.load(ours + "/prompt.pt")
settings = dict(do_sample=False, max_new_tokens=6, pad_token_id=0, eos_token_id=2)
def cache():  # the DynamicCache generate() would make mixes cross- and self-attention keys in the reference's BERT
    return transformers.EncoderDecoderCache(transformers.DynamicCache(), transformers.DynamicCache())
model, info = transformers.BertLMHeadModel.from_pretrained(ours, output_loading_info=True)
with torch.no_grad():
    on_ours = model.eval().generate(**data, **settings, past_key_values=cache()).tolist()
torch.manual_seed(1)
built = transformers.BertLMHeadModel(transformers.BertConfig(**json.loads(sys.argv[3])))
with torch.no_grad():
    for p in built.parameters():
        p.add_(torch.randn(p.shape) * 0.05)
built.eval().save_pretrained(theirs)
with torch.no_grad():
    on_theirs = built.generate(**data, **settings, past_key_values=cache()).tolist()
report = {"info": {k: [str(x) for x in v] for k, v in info.items() if v}, "on_ours": on_ours, "on_theirs": on_theirs}
print(json.dumps(report))
"""


@pytest.mark.reference
@pytest.mark.skipif(not REF_PY.exists(), reason="needs .venv-ref (make reference)")
def test_a_bert_decoder_saved_on_either_side_generates_the_same_greedy_tokens_on_the_other(tmp_path: Path) -> None:
    settings = dict(BERT, hidden_size=16, is_decoder=True, add_cross_attention=True, pad_token_id=0, eos_token_id=2,
                    position_embedding_type="relative_key_query")
    g = torch.Generator().manual_seed(0)
    ids = torch.tensor([[0, 0, 12, 33, 8], [17, 4, 46, 30, 21]])
    prompt = {"input_ids": ids, "attention_mask": (ids != 0).long(),
              "encoder_hidden_states": torch.randn(2, 3, 16, generator=g),
              "encoder_attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]])}
    torch.manual_seed(0)
    model = modelyard.BertLMHeadModel(modelyard.BertConfig(**settings))
    perturb(model)
    ours = tmp_path / "saved-by-modelyard"
    model.eval().save_pretrained(ours)
    torch.save(prompt, ours / "prompt.pt")
    greedy = dict(do_sample=False, max_new_tokens=6, pad_token_id=0, eos_token_id=2)
    expected_on_ours = model.generate(**prompt, **greedy).tolist()
    theirs = tmp_path / "saved-by-the-reference"
    proc = subprocess.run([str(REF_PY), "-c", _REFERENCE_ROUND_TRIP, str(ours), str(theirs), json.dumps(settings)],
                          capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["info"] == {}
    assert report["on_ours"] == expected_on_ours
    loaded = modelyard.AutoModelForCausalLM.from_pretrained(theirs)
    assert isinstance(loaded, modelyard.BertLMHeadModel)
    assert loaded.generate(**prompt, **greedy).tolist() == report["on_theirs"]
