"""The families' further heads and variants: tiny random checkpoints, expected outputs and generated tokens.

Cases use the layout of `gen_models.py` (`<out>/models/<case>/`, read by `tests/common/parity.py`):

- BERT: `BertForPreTraining` (masked-LM + next-sentence loss), `BertForNextSentencePrediction`,
  `BertLMHeadModel` as a decoder with cross-attention over encoder states (labels, padding in both masks),
  as a plain decoder with its cache (a variant of `bert-for-masked-lm`: the same keys, `is_decoder=True`),
  with `relative_key_query` positions (cache on: the reference's cached path), and the bidirectional
  encoder with `relative_key` (a variant of that checkpoint loaded as `BertForMaskedLM`);
- ViT: `ViTForMaskedImageModeling` (mask token, pixel-shuffle decoder, masked L1 loss) on 16x16 images;
- ResNet: `ResNetBackbone` with `out_features` and a variant choosing stages by `out_indices`;
- Wav2Vec2: `Wav2Vec2ForPreTraining` given `mask_time_indices` and `sampled_negative_indices` (eval mode:
  argmax quantizer), `Wav2Vec2ForMaskedLM` (a variant of the CTC checkpoint: the same keys),
  `Wav2Vec2ForAudioFrameClassification` (weighted layer sum, one-hot frame labels), `Wav2Vec2ForXVector`
  (dilated TDNN, statistics pooling over the real frames, AM-softmax loss; and unpadded), `Wav2Vec2ForCTC` with
  both adapters (the output adapter, projecting to `output_hidden_size`, and per-layer attention adapters), and
  that checkpoint loaded with `target_lang="fra"`: `adapter.fra.safetensors` (written next to it) replaces the
  attention adapters and the CTC head (same vocabulary size: the reference loads a different one only with
  `ignore_mismatched_sizes=True`).

`<out>/heads/bert_generation.json`: the reference's greedy and beam-search tokens of the two BERT decoders,
one prompt and a left-padded batch, with the smallest top-1/top-2 gap on the way.

`<out>/heads/bert_decoder_round_trip.json`: greedy tokens of BERT decoders with cross-attention, each direction
of the save/load round trip: `heads/bert-lm-head-model-saved-by-modelyard/` is what modelyard's `save_pretrained`
wrote (made by `modelyard_saves.py` in modelyard's environment) run by the reference, and the reference-saved
`models/bert-lm-head-model-cross-attention/` run by the reference, for modelyard to match on both; with the
reference's loading report of each (missing/unexpected keys) and its encoder states (exact binary fractions).

Kept small (about 300 KB in all): hidden-16 bodies, few outputs beyond the head's own, variants that re-use a
checkpoint wherever the keys allow.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import torch
from _common import (
    REPO_ROOT,
    fresh_dir,
    reference_tag,
    run_case_generator,
    stable_seed,
    write_json,
)
from gen_models import (
    BERT,
    HEAD_BODY,
    RESNET_BASIC_HEAD,
    TEXT_LENGTHS,
    VIT_HEAD,
    W2V_LAYER_HEAD,
    Case,
    audio,
    mlm_labels,
    pixels,
    text_inputs,
    with_labels,
    write_cases,
)

BERT_HEAD = dict(BERT, **HEAD_BODY["bert"])
BERT_DECODER = dict(BERT_HEAD, is_decoder=True)
TEXT = text_inputs(token_types=True)
ATTENTIONS = {"output_attentions": True}
VIT_MIM = dict(VIT_HEAD, image_size=16, patch_size=4, encoder_stride=4)
W2V_PRETRAINING = dict(W2V_LAYER_HEAD, num_codevectors_per_group=5, num_codevector_groups=2, codevector_dim=8,
                       proj_codevector_dim=8, num_negatives=3, diversity_loss_weight=0.1)
W2V_FRAMES = (15, 11, 8)  # frames of the padded audio rows (gen_models.AUDIO_LENGTHS)
W2V_XVECTOR = dict(W2V_LAYER_HEAD, num_labels=3, tdnn_dim=(8, 8, 12), tdnn_kernel=(3, 3, 1), tdnn_dilation=(1, 2, 1),
                   xvector_output_dim=6)
# both adapters: 2 strided convolutions after the encoder (15 frames -> 4) and a bottleneck in each pre-norm layer
W2V_ADAPTERS = dict(W2V_LAYER_HEAD, add_adapter=True, output_hidden_size=8, num_adapter_layers=2, adapter_stride=2,
                    adapter_attn_dim=4)
W2V_ADAPTER_CASE = "wav2vec2-layer-for-ctc-adapters"
W2V_LANGUAGE_CASE = "wav2vec2-layer-for-ctc-target-lang"


def pretraining_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = mlm_labels(g, config, x)
    out["next_sentence_label"] = torch.tensor([0, 1, 1])
    return out


def next_sentence_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {"labels": torch.tensor([1, 0, 1])}


def encoder_states(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """States of a 5-token encoder (row 1 padded after 3) and causal-LM labels (-100 on padding)."""
    states = torch.randn(len(TEXT_LENGTHS), 5, config.hidden_size, generator=g)
    mask = torch.ones(len(TEXT_LENGTHS), 5, dtype=torch.long)
    mask[1, 3:] = 0
    labels = x["input_ids"].masked_fill(x["attention_mask"] == 0, -100)
    return {"encoder_hidden_states": states, "encoder_attention_mask": mask, "labels": labels}


def masked_patches(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    patches = (config.image_size // config.patch_size) ** 2
    masked = torch.rand(x["pixel_values"].shape[0], patches, generator=g) < 0.5
    return {"bool_masked_pos": masked}


def contrastive_inputs(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Masked frames in the real part of each row and, per masked frame, other masked frames of its row."""
    batch, frames = len(W2V_FRAMES), max(W2V_FRAMES)
    mask = torch.zeros(batch, frames, dtype=torch.bool)
    negatives = torch.zeros(batch, frames, config.num_negatives, dtype=torch.long)
    for row, length in enumerate(W2V_FRAMES):
        mask[row, torch.randperm(length, generator=g)[: max(2, length // 2)]] = True
        masked = mask[row].nonzero().flatten()
        for rank, frame in enumerate(masked.tolist()):
            others = torch.cat([masked[:rank], masked[rank + 1 :]])
            picks = others[torch.randint(0, len(others), (config.num_negatives,), generator=g)]
            negatives[row, frame] = picks + row * frames
        negatives[row, ~mask[row]] = row * frames
    return {"mask_time_indices": mask, "sampled_negative_indices": negatives}


def frame_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """One-hot (batch, frames, num_labels) labels: one speaker per frame."""
    picks = torch.randint(0, config.num_labels, (len(W2V_FRAMES), max(W2V_FRAMES)), generator=g)
    return {"labels": torch.nn.functional.one_hot(picks, config.num_labels)}


def speaker_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {"labels": torch.randint(0, config.num_labels, (x["input_values"].shape[0],), generator=g)}


def ctc_adapter_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CTC labels that fit the adapter's 4, 3 and 2 frames."""
    labels = torch.randint(1, config.vocab_size, (3, 3), generator=g)
    labels[1, 2:] = -100
    labels[2, 1:] = -100
    return {"labels": labels}


def write_language_adapter(folder: Path) -> None:
    """``adapter.fra.safetensors`` for the adapter checkpoint: new attention adapters and CTC head."""
    import transformers
    from safetensors.torch import save_file

    model = transformers.Wav2Vec2ForCTC.from_pretrained(folder)
    g = torch.Generator().manual_seed(stable_seed("adapter.fra"))
    weights = {key: torch.randn(value.shape, generator=g) * 0.2 for key, value in sorted(model._get_adapters().items())}
    save_file(dict(sorted(weights.items())), str(folder / "adapter.fra.safetensors"), metadata={"format": "pt"})


def all_cases() -> list[Case]:
    return [
        Case("bert-for-pretraining", "bert", "BertForPreTraining", "BertConfig", BERT_HEAD,
             with_labels(TEXT, pretraining_labels), {},
             notes="labels (-100 except a few real positions) and next_sentence_label: loss = MLM + NSP"),
        Case("bert-for-next-sentence-prediction", "bert", "BertForNextSentencePrediction", "BertConfig", BERT_HEAD,
             with_labels(TEXT, next_sentence_labels), {}),
        Case("bert-lm-head-model-cross-attention", "bert", "BertLMHeadModel", "BertConfig",
             dict(BERT_DECODER, add_cross_attention=True), with_labels(TEXT, encoder_states),
             dict(ATTENTIONS, use_cache=False),
             notes="is_decoder + add_cross_attention: causal self-attention with right padding, cross-attention "
             "over 5 encoder states (row 1 padded after 3); causal-LM labels (shifted inside)"),
        Case("bert-lm-head-model", "bert", "BertLMHeadModel", "BertConfig", BERT_HEAD, TEXT, {},
             notes="the bert-for-masked-lm checkpoint loaded as a decoder (is_decoder=True): causal attention, "
             "use_cache on (an EncoderDecoderCache is made; past_key_values are not recorded)",
             checkpoint="bert-for-masked-lm", overrides={"is_decoder": True}),
        Case("bert-lm-head-model-relative-key-query", "bert", "BertLMHeadModel", "BertConfig",
             dict(BERT_DECODER, position_embedding_type="relative_key_query"), TEXT, ATTENTIONS,
             notes="relative_key_query decoder with use_cache on: the reference then places every query at the last "
             "key's position"),
        Case("bert-for-masked-lm-relative-key", "bert", "BertForMaskedLM", "BertConfig", BERT_HEAD,
             with_labels(TEXT, mlm_labels), ATTENTIONS,
             notes="the relative_key_query decoder's checkpoint as a bidirectional encoder with relative_key",
             checkpoint="bert-lm-head-model-relative-key-query",
             overrides={"is_decoder": False, "position_embedding_type": "relative_key"}),
        Case("vit-for-masked-image-modeling", "vit", "ViTForMaskedImageModeling", "ViTConfig", VIT_MIM,
             with_labels(pixels(16, 16), masked_patches), {},
             notes="image 16, patch 4 = encoder_stride 4: 16 patches, about half masked; masked L1 loss"),
        Case("resnet-backbone", "resnet", "ResNetBackbone", "ResNetConfig",
             dict(RESNET_BASIC_HEAD, out_features=["stem", "stage2", "stage4"]), pixels(16, 16, batch=1),
             {"output_hidden_states": True}, notes="feature maps of stem, stage2 and stage4"),
        Case("resnet-backbone-out-indices", "resnet", "ResNetBackbone", "ResNetConfig", RESNET_BASIC_HEAD,
             pixels(16, 16, batch=1), {}, notes="out_indices=[1, -1] at load time: stage1 and stage4",
             checkpoint="resnet-backbone", overrides={"out_indices": [1, -1]}),
        Case("wav2vec2-layer-for-pretraining", "wav2vec2", "Wav2Vec2ForPreTraining", "Wav2Vec2Config",
             W2V_PRETRAINING, with_labels(audio(padded=True), contrastive_inputs), {},
             notes="eval mode (argmax quantizer): 2 groups x 5 codevectors, 3 negatives per masked frame; padded "
             "batch with attention_mask; contrastive + 0.1 * diversity loss"),
        Case("wav2vec2-group-for-masked-lm", "wav2vec2", "Wav2Vec2ForMaskedLM", "Wav2Vec2Config", {},
             audio(padded=False), {}, notes="the deprecated head on the CTC checkpoint (the same keys)",
             checkpoint="wav2vec2-group-for-ctc-mean"),
        Case("wav2vec2-layer-for-audio-frame-classification", "wav2vec2", "Wav2Vec2ForAudioFrameClassification",
             "Wav2Vec2Config", dict(W2V_LAYER_HEAD, num_labels=3, use_weighted_layer_sum=True),
             with_labels(audio(padded=True), frame_labels), {},
             notes="use_weighted_layer_sum=True; padded batch; one-hot frame labels (loss: cross-entropy against "
             "the argmax, every frame counted)"),
        Case("wav2vec2-layer-for-x-vector", "wav2vec2", "Wav2Vec2ForXVector", "Wav2Vec2Config", W2V_XVECTOR,
             with_labels(audio(padded=True), speaker_labels), {},
             notes="TDNN kernels 3, 3, 1 with dilations 1, 2, 1; mean and std pooled over each row's real frames "
             "(counted without the dilation, as the reference does); AM-softmax loss"),
        Case("wav2vec2-layer-for-x-vector-unpadded", "wav2vec2", "Wav2Vec2ForXVector", "Wav2Vec2Config", {},
             with_labels(audio(padded=False), speaker_labels), {}, notes="no attention_mask: pooled over all frames",
             checkpoint="wav2vec2-layer-for-x-vector"),
        Case(W2V_ADAPTER_CASE, "wav2vec2", "Wav2Vec2ForCTC", "Wav2Vec2Config", W2V_ADAPTERS,
             with_labels(audio(padded=True), ctc_adapter_labels), {},
             notes="add_adapter (output_hidden_size 8, 2 layers of stride 2: frames 15, 11, 8 -> 4, 3, 2) and "
             "adapter_attn_dim 4; padded batch; CTC loss over the adapter's frames"),
        Case(W2V_LANGUAGE_CASE, "wav2vec2", "Wav2Vec2ForCTC", "Wav2Vec2Config", {},
             with_labels(audio(padded=True), ctc_adapter_labels), {},
             notes="target_lang='fra': adapter.fra.safetensors replaces the attention adapters and the CTC head",
             checkpoint=W2V_ADAPTER_CASE, overrides={"target_lang": "fra"}),
    ]


def generation_fixture(root: Path) -> dict[str, Any]:
    import transformers

    prompts = {"single": [[5, 9, 23, 7, 41]], "left_padded": [[0, 0, 12, 33, 8], [17, 4, 46, 30, 21]]}
    checkpoints = (("bert-lm-head-model", "bert-for-masked-lm", {"is_decoder": True}),
                   ("bert-lm-head-model-relative-key-query", "bert-lm-head-model-relative-key-query", {}))
    records = []
    for name, folder, overrides in checkpoints:
        model = transformers.BertLMHeadModel.from_pretrained(root / "models" / folder, attn_implementation="eager",
                                                             **overrides)
        model.eval()
        for prompt_name, rows in prompts.items():
            ids = torch.tensor(rows)
            mask = (ids != 0).long()
            for mode, options in (
                ("greedy", {"do_sample": False, "max_new_tokens": 6}),
                ("beam", {"do_sample": False, "num_beams": 3, "num_return_sequences": 2, "max_new_tokens": 5,
                          "length_penalty": 1.0, "early_stopping": True}),
            ):
                with torch.no_grad():
                    out = model.generate(ids, attention_mask=mask, pad_token_id=0, eos_token_id=2,
                                         output_scores=True, return_dict_in_generate=True, **options)
                gap = min(float((s.topk(2).values[:, 0] - s.topk(2).values[:, 1]).min()) for s in out.scores)
                records.append({"name": name, "checkpoint": folder, "config_overrides": overrides,
                                "prompt": prompt_name, "input_ids": rows, "attention_mask": mask.tolist(),
                                "mode": mode, "options": options, "sequences": out.sequences.tolist(),
                                "min_top2_gap": round(gap, 6)})
    fixture = {"reference": reference_tag(), "pad_token_id": 0, "eos_token_id": 2, "cases": records}
    write_json(root / "heads" / "bert_generation.json", fixture)
    return fixture


MODELYARD_SAVED = "bert-lm-head-model-saved-by-modelyard"
ROUND_TRIP_PROMPTS = {"single": [[5, 9, 23, 7, 41]], "left_padded": [[0, 0, 12, 33, 8], [17, 4, 46, 30, 21]]}
MIN_GAP = 1e-3  # a greedy step whose winner leads by less could flip on another CPU's rounding


def modelyard_python() -> Path:
    """modelyard's environment: $MODELYARD_PYTHON, else the repository's .venv."""
    path = Path(os.environ.get("MODELYARD_PYTHON") or REPO_ROOT / ".venv" / "bin" / "python")
    if not path.exists():
        raise SystemExit(f"{path} not found: the round-trip fixture needs modelyard's environment to save a checkpoint; "
                         "run `make install` or set MODELYARD_PYTHON to its python.")
    return path


def save_with_modelyard(folder: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT / "src"))
    proc = subprocess.run([str(modelyard_python()), str(Path(__file__).with_name("modelyard_saves.py")), str(folder)],
                          capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"modelyard_saves.py failed:\n{proc.stderr[-3000:]}")


def round_trip_fixture(out: Path) -> dict[str, Any]:
    import transformers

    saved = fresh_dir(out / "heads" / MODELYARD_SAVED)
    save_with_modelyard(saved)
    g = torch.Generator().manual_seed(stable_seed("bert_decoder_round_trip"))
    records = []
    for saved_by, folder in (("modelyard", f"heads/{MODELYARD_SAVED}"),
                             ("reference", "models/bert-lm-head-model-cross-attention")):
        model, info = transformers.BertLMHeadModel.from_pretrained(out / folder, attn_implementation="eager",
                                                                   output_loading_info=True)
        model.eval()
        loading = {key: sorted(str(x) for x in value) for key, value in info.items() if value}
        for prompt_name, rows in ROUND_TRIP_PROMPTS.items():
            ids = torch.tensor(rows)
            mask = (ids != 0).long()
            # 3 encoder positions, the last one padding in the batch's second row; multiples of 1/16 (exact in JSON)
            states = torch.randint(-32, 33, (len(rows), 3, model.config.hidden_size), generator=g) / 16
            encoder_mask = torch.ones(len(rows), 3, dtype=torch.long)
            encoder_mask[1:, 2] = 0
            options = {"do_sample": False, "max_new_tokens": 6}
            # generate() gives a decoder-only model a DynamicCache, where the reference's BERT appends the
            # cross-attention keys to the self-attention ones and fails; an EncoderDecoderCache keeps them apart
            cache = transformers.EncoderDecoderCache(transformers.DynamicCache(), transformers.DynamicCache())
            with torch.no_grad():
                result = model.generate(ids, attention_mask=mask, encoder_hidden_states=states, past_key_values=cache,
                                        encoder_attention_mask=encoder_mask, pad_token_id=0, eos_token_id=2,
                                        output_scores=True, return_dict_in_generate=True, **options)
            gap = min(float((s.topk(2).values[:, 0] - s.topk(2).values[:, 1]).min()) for s in result.scores)
            if gap < MIN_GAP:
                raise RuntimeError(f"{folder} {prompt_name}: a greedy step leads by only {gap:.2g}; change the prompt")
            records.append({"saved_by": saved_by, "folder": folder, "reference_loading_info": loading,
                            "prompt": prompt_name, "input_ids": rows, "attention_mask": mask.tolist(),
                            "encoder_hidden_states": states.tolist(), "encoder_attention_mask": encoder_mask.tolist(),
                            "options": options, "past_key_values": "EncoderDecoderCache",
                            "sequences": result.sequences.tolist(), "min_top2_gap": round(gap, 6)})
    fixture = {"reference": reference_tag(), "pad_token_id": 0, "eos_token_id": 2, "cases": records}
    write_json(out / "heads" / "bert_decoder_round_trip.json", fixture)
    return fixture


def generate(out: Path, only: list[str] | None = None) -> list[str]:
    root = out / "models"

    def before(case: Case) -> None:
        if case.name == W2V_LANGUAGE_CASE:  # the case loads a language adapter written next to its own model
            write_language_adapter(root / W2V_ADAPTER_CASE)

    names = write_cases(all_cases(), root, only, before)
    if not only:
        generation_fixture(out)
        print("  heads/bert_generation.json")
        round_trip_fixture(out)
        print(f"  heads/{MODELYARD_SAVED}/ and heads/bert_decoder_round_trip.json")
    return names


def main() -> None:
    run_case_generator(__doc__ or "", generate)


if __name__ == "__main__":
    main()
