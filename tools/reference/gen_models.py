"""Tiny random checkpoints + expected forward outputs from the reference library.

Writes `<out>/models/<case>/` with `config.json` + `model.safetensors` (the reference's own
`save_pretrained(safe_serialization=True)`), `case.json` and `io.safetensors` (`input.<kwarg>` and
`output.<field>[.<i>]` tensors). Outputs are computed by a model re-loaded from the saved folder with
`from_pretrained`, in eval mode, with eager attention so attention maps come back.

After the reference's own initialisation every trainable parameter gets a seeded N(0, 0.05) nudge (and
BatchNorm running statistics are randomised): LayerNorm weights that are all ones and biases that are all
zeros would hide swapped or unloaded weights in a parity test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from _common import (
    fresh_dir,
    reference_tag,
    run_case_generator,
    stable_seed,
    write_json,
)
from safetensors import safe_open
from safetensors.torch import save_file

PERTURB_STD = 0.05


@dataclass
class Case:
    name: str
    family: str
    cls: str
    config_cls: str
    config: dict[str, Any]
    inputs: Callable[[torch.Generator, Any], dict[str, torch.Tensor]]
    options: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    legacy_weight_norm: bool = False
    # A variant re-uses another case's checkpoint folder (loaded with `from_pretrained(folder,
    # **overrides)`) and only has its own case.json + io.safetensors: keeps the fixtures small.
    checkpoint: str | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------- configs

BERT = dict(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=16,
    type_vocab_size=2,
    hidden_act="gelu",
    pad_token_id=0,
)
# RoBERTa: BERT's body, one token type, positions counted from pad_token_id + 1 (the inputs pad with id 0, so
# pad_token_id=0 here: padded rows then test the position numbering over the real tokens only)
ROBERTA = dict(BERT, type_vocab_size=1, pad_token_id=0, bos_token_id=2, eos_token_id=3, max_position_embeddings=20)
DISTILBERT = dict(
    vocab_size=99,
    dim=32,
    n_layers=2,
    n_heads=4,
    hidden_dim=37,
    max_position_embeddings=16,
    activation="gelu",
    pad_token_id=0,
)
VIT = dict(
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    image_size=32,
    patch_size=8,
    num_channels=3,
)
W2V_COMMON = dict(
    vocab_size=12,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    conv_dim=(16, 16, 16),
    conv_stride=(5, 2, 2),
    conv_kernel=(10, 3, 3),
    num_conv_pos_embeddings=8,
    num_conv_pos_embedding_groups=2,
    classifier_proj_size=16,
    pad_token_id=0,
)
W2V_GROUP = dict(W2V_COMMON, feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False)
W2V_LAYER = dict(W2V_COMMON, feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True)
RESNET_BASIC = dict(
    num_channels=3,
    embedding_size=8,
    hidden_sizes=[8, 16, 16, 32],
    depths=[2, 1, 1, 1],
    layer_type="basic",
    hidden_act="relu",
)
RESNET_BOTTLENECK = dict(
    num_channels=3,
    embedding_size=8,
    hidden_sizes=[16, 32, 32, 64],
    depths=[1, 2, 1, 1],
    layer_type="bottleneck",
    hidden_act="relu",
)

# Head cases use a narrower body (hidden 16, still 2 layers x 4 heads, intermediate 37) to keep the
# committed folder small; the base-model cases use hidden 32.
HEAD_BODY: dict[str, dict[str, Any]] = {"bert": {"hidden_size": 16}, "distilbert": {"dim": 16},
                                        "roberta": {"hidden_size": 16}}
VIT_HEAD = dict(VIT, hidden_size=16)
W2V_GROUP_HEAD = dict(W2V_GROUP, hidden_size=16, classifier_proj_size=8)
W2V_LAYER_HEAD = dict(W2V_LAYER, hidden_size=16, classifier_proj_size=8)
RESNET_BASIC_HEAD = dict(RESNET_BASIC, hidden_sizes=[8, 8, 16, 16], depths=[1, 1, 1, 1])

TEXT_OPTIONS = {"output_hidden_states": True, "output_attentions": True}
RESNET_OPTIONS = {"output_hidden_states": True}

# --------------------------------------------------------------------------------------------- inputs

BATCH = 3
SEQ = 9
TEXT_LENGTHS = (9, 6, 4)  # real tokens per row; the rest is padding (id 0, mask 0)
AUDIO_LEN = 320
AUDIO_LENGTHS = (320, 250, 180)  # -> 15, 11 and 8 frames


def _ids(g: torch.Generator, vocab: int, lengths: tuple[int, ...], seq: int) -> dict[str, torch.Tensor]:
    ids = torch.randint(1, vocab, (len(lengths), seq), generator=g)
    mask = torch.zeros(len(lengths), seq, dtype=torch.long)
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
    ids = ids.masked_fill(mask == 0, 0)
    return {"input_ids": ids, "attention_mask": mask}


def _token_types(lengths: tuple[int, ...], seq: int) -> torch.Tensor:
    types = torch.zeros(len(lengths), seq, dtype=torch.long)
    for row, n in enumerate(lengths):
        types[row, n // 2 : n] = 1  # second segment in the back half of the real tokens
    return types


def text_inputs(*, token_types: bool) -> Callable[[torch.Generator, Any], dict[str, torch.Tensor]]:
    def make(g: torch.Generator, config: Any) -> dict[str, torch.Tensor]:
        out = _ids(g, config.vocab_size, TEXT_LENGTHS, SEQ)
        if token_types:
            out["token_type_ids"] = _token_types(TEXT_LENGTHS, SEQ)
        return out

    return make


def with_labels(
    base: Callable[[torch.Generator, Any], dict[str, torch.Tensor]],
    labels: Callable[[torch.Generator, Any, dict[str, torch.Tensor]], dict[str, torch.Tensor]],
) -> Callable[[torch.Generator, Any], dict[str, torch.Tensor]]:
    def make(g: torch.Generator, config: Any) -> dict[str, torch.Tensor]:
        out = base(g, config)
        out.update(labels(g, config, out))
        return out

    return make


def mlm_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    labels = torch.randint(1, config.vocab_size, x["input_ids"].shape, generator=g)
    keep = (torch.rand(x["input_ids"].shape, generator=g) < 0.4) & (x["attention_mask"] == 1)
    keep[0, 1] = True  # at least one predicted position
    return {"labels": labels.masked_fill(~keep, -100)}


def single_label(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {"labels": torch.randint(0, config.num_labels, (x["input_ids"].shape[0],), generator=g)}


def multi_label(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    shape = (x["input_ids"].shape[0], config.num_labels)
    return {"labels": torch.randint(0, 2, shape, generator=g).float()}


def regression(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {"labels": torch.randn(x["input_ids"].shape[0], generator=g)}


def token_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    labels = torch.randint(0, config.num_labels, x["input_ids"].shape, generator=g)
    return {"labels": labels.masked_fill(x["attention_mask"] == 0, -100)}


def qa_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    start = torch.tensor([1, 2, 0])
    end = torch.tensor([4, 3, 12])  # 12 > seq: the reference clamps it to seq and ignores it
    return {"start_positions": start, "end_positions": end}


def multiple_choice(*, token_types: bool) -> Callable[[torch.Generator, Any], dict[str, torch.Tensor]]:
    lengths = (9, 7, 5, 8, 3, 6)  # 2 examples x 3 choices

    def make(g: torch.Generator, config: Any) -> dict[str, torch.Tensor]:
        flat = _ids(g, config.vocab_size, lengths, SEQ)
        if token_types:
            flat["token_type_ids"] = _token_types(lengths, SEQ)
        out = {k: v.view(2, 3, SEQ) for k, v in flat.items()}
        out["labels"] = torch.tensor([2, 0])
        return out

    return make


def head_mask(config: Any) -> torch.Tensor:
    layers = getattr(config, "num_hidden_layers", None) or config.n_layers
    heads = getattr(config, "num_attention_heads", None) or config.n_heads
    mask = torch.ones(layers, heads)
    mask[0, 1] = 0.0
    mask[1, 0] = 0.0
    mask[1, 3] = 0.5  # heads are scaled, not only dropped
    return mask


def with_head_mask(
    base: Callable[[torch.Generator, Any], dict[str, torch.Tensor]],
) -> Callable[[torch.Generator, Any], dict[str, torch.Tensor]]:
    def make(g: torch.Generator, config: Any) -> dict[str, torch.Tensor]:
        out = base(g, config)
        out["head_mask"] = head_mask(config)
        return out

    return make


def pixels(height: int, width: int, batch: int = 2):
    def make(g: torch.Generator, config: Any) -> dict[str, torch.Tensor]:
        return {"pixel_values": torch.randn(batch, config.num_channels, height, width, generator=g)}

    return make


def image_labels(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {"labels": torch.randint(0, config.num_labels, (x["pixel_values"].shape[0],), generator=g)}


def audio(*, padded: bool):
    def make(g: torch.Generator, config: Any) -> dict[str, torch.Tensor]:
        if not padded:
            return {"input_values": torch.randn(2, AUDIO_LEN, generator=g)}
        values = torch.randn(len(AUDIO_LENGTHS), AUDIO_LEN, generator=g)
        mask = torch.zeros(len(AUDIO_LENGTHS), AUDIO_LEN, dtype=torch.long)
        for row, n in enumerate(AUDIO_LENGTHS):
            mask[row, :n] = 1
        return {"input_values": values.masked_fill(mask == 0, 0.0), "attention_mask": mask}

    return make


def ctc_labels(lengths: tuple[int, ...]):
    def make(g: torch.Generator, config: Any, x: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        # ids 1.. (0 is <pad>, the CTC blank); the padding of the label batch is -100
        labels = torch.randint(1, config.vocab_size, (len(lengths), max(lengths)), generator=g)
        for row, n in enumerate(lengths):
            labels[row, n:] = -100
        return {"labels": labels}

    return make


# ---------------------------------------------------------------------------------------------- cases


def text_cases(family: str, prefix: str, base_cfg: dict[str, Any], *, token_types: bool) -> list[Case]:
    cfg_cls = f"{prefix}Config"
    head_cfg = dict(base_cfg, **HEAD_BODY[family])
    text = text_inputs(token_types=token_types)
    cases = [
        Case(f"{family}-model", family, f"{prefix}Model", cfg_cls, base_cfg, text, TEXT_OPTIONS),
        Case(
            f"{family}-model-head-mask",
            family,
            f"{prefix}Model",
            cfg_cls,
            base_cfg,
            with_head_mask(text),
            TEXT_OPTIONS,
            notes="head_mask (layers, heads) with zeros and one 0.5 entry",
            checkpoint=f"{family}-model",
        ),
        Case(
            f"{family}-for-masked-lm",
            family,
            f"{prefix}ForMaskedLM",
            cfg_cls,
            head_cfg,
            with_labels(text, mlm_labels),
            TEXT_OPTIONS,
            notes="labels are -100 except at a few real positions; decoder weight tied to the word embeddings",
        ),
        Case(
            f"{family}-for-sequence-classification",
            family,
            f"{prefix}ForSequenceClassification",
            cfg_cls,
            dict(head_cfg, num_labels=3),
            with_labels(text, single_label),
            TEXT_OPTIONS,
            notes="problem_type inferred by the reference: single_label_classification (long labels)",
        ),
        Case(
            f"{family}-for-sequence-classification-multi-label",
            family,
            f"{prefix}ForSequenceClassification",
            cfg_cls,
            dict(head_cfg, num_labels=3),
            with_labels(text, multi_label),
            TEXT_OPTIONS,
            notes="problem_type multi_label_classification (a config override at load time): float 0/1 "
            "labels, BCEWithLogits loss",
            checkpoint=f"{family}-for-sequence-classification",
            overrides={"problem_type": "multi_label_classification"},
        ),
        Case(
            f"{family}-for-sequence-classification-regression",
            family,
            f"{prefix}ForSequenceClassification",
            cfg_cls,
            dict(head_cfg, num_labels=1),
            with_labels(text, regression),
            TEXT_OPTIONS,
            notes="num_labels=1: problem_type inferred as regression (MSE loss)",
        ),
        Case(
            f"{family}-for-token-classification",
            family,
            f"{prefix}ForTokenClassification",
            cfg_cls,
            dict(head_cfg, num_labels=5),
            with_labels(text, token_labels),
            TEXT_OPTIONS,
            notes="labels -100 on padding",
        ),
        Case(
            f"{family}-for-question-answering",
            family,
            f"{prefix}ForQuestionAnswering",
            cfg_cls,
            head_cfg,
            with_labels(text, qa_labels),
            TEXT_OPTIONS,
            notes="end_positions[2]=12 is past the sequence: the reference clamps to seq_len and ignores it",
        ),
        Case(
            f"{family}-for-multiple-choice",
            family,
            f"{prefix}ForMultipleChoice",
            cfg_cls,
            head_cfg,
            multiple_choice(token_types=token_types),
            TEXT_OPTIONS,
            notes="inputs (batch=2, choices=3, seq); hidden_states/attentions are over batch*choices rows",
        ),
    ]
    return cases


def all_cases() -> list[Case]:
    cases = text_cases("bert", "Bert", BERT, token_types=True)
    cases += text_cases("distilbert", "DistilBert", DISTILBERT, token_types=False)
    cases += [c for c in text_cases("roberta", "Roberta", ROBERTA, token_types=False)
              if not c.name.endswith(("-head-mask", "-multi-label", "-regression"))]
    cases.append(
        Case(
            "roberta-for-causal-lm",
            "roberta",
            "RobertaForCausalLM",
            "RobertaConfig",
            dict(ROBERTA, is_decoder=True, **HEAD_BODY["roberta"]),
            with_labels(text_inputs(token_types=False), mlm_labels),
            TEXT_OPTIONS,
            notes="is_decoder=True: causal self-attention; labels shifted inside; decoder tied to the embeddings",
        )
    )
    cases.append(
        Case(
            "distilbert-model-sinusoidal",
            "distilbert",
            "DistilBertModel",
            "DistilBertConfig",
            dict(DISTILBERT, sinusoidal_pos_embds=True, **HEAD_BODY["distilbert"]),
            text_inputs(token_types=False),
            TEXT_OPTIONS,
            notes="sinusoidal_pos_embds=True: position embeddings are the fixed sinusoidal table (not perturbed); "
            "dim 16",
        )
    )
    # ViT
    cases += [
        Case("vit-model", "vit", "ViTModel", "ViTConfig", VIT, pixels(32, 32), TEXT_OPTIONS),
        Case(
            "vit-model-interpolate-pos-encoding",
            "vit",
            "ViTModel",
            "ViTConfig",
            VIT,
            pixels(48, 40, batch=1),
            dict(TEXT_OPTIONS, interpolate_pos_encoding=True),
            notes="config image_size 32, input 48x40 (height x width): position embeddings interpolated (bicubic)",
            checkpoint="vit-model",
        ),
        Case(
            "vit-for-image-classification",
            "vit",
            "ViTForImageClassification",
            "ViTConfig",
            dict(VIT_HEAD, num_labels=3, id2label={0: "cat", 1: "dog", 2: "bird"},
                 label2id={"cat": 0, "dog": 1, "bird": 2}),
            with_labels(pixels(32, 32), image_labels),
            TEXT_OPTIONS,
            notes="id2label names",
        ),
    ]
    # Wav2Vec2
    cases += [
        Case(
            "wav2vec2-group-model",
            "wav2vec2",
            "Wav2Vec2Model",
            "Wav2Vec2Config",
            W2V_GROUP,
            audio(padded=False),
            TEXT_OPTIONS,
            notes="feat_extract_norm=group, do_stable_layer_norm=False; no attention_mask (as the reference "
            "recommends for group-norm models)",
        ),
        Case(
            "wav2vec2-group-for-ctc-mean",
            "wav2vec2",
            "Wav2Vec2ForCTC",
            "Wav2Vec2Config",
            dict(W2V_GROUP_HEAD, ctc_loss_reduction="mean"),
            with_labels(audio(padded=False), ctc_labels((5, 7))),
            TEXT_OPTIONS,
            notes="ctc_loss_reduction=mean; labels padded with -100. Saved with the LEGACY weight-norm key "
            "names (weight_g/weight_v): the reference writes parametrizations.weight.original0/1, the keys "
            "were renamed after save_pretrained and the reference re-loaded them to compute the outputs",
            legacy_weight_norm=True,
        ),
        Case(
            "wav2vec2-group-for-sequence-classification",
            "wav2vec2",
            "Wav2Vec2ForSequenceClassification",
            "Wav2Vec2Config",
            dict(W2V_GROUP_HEAD, num_labels=3),
            with_labels(audio(padded=False), lambda g, c, x: {"labels": torch.tensor([2, 0])}),
            TEXT_OPTIONS,
            notes="mean pooling over all frames (no attention_mask)",
        ),
        Case(
            "wav2vec2-layer-model",
            "wav2vec2",
            "Wav2Vec2Model",
            "Wav2Vec2Config",
            W2V_LAYER,
            audio(padded=True),
            TEXT_OPTIONS,
            notes="feat_extract_norm=layer, do_stable_layer_norm=True, conv_bias=True; padded batch "
            f"(sample lengths {AUDIO_LENGTHS}) with attention_mask",
        ),
        Case(
            "wav2vec2-layer-for-ctc-sum",
            "wav2vec2",
            "Wav2Vec2ForCTC",
            "Wav2Vec2Config",
            dict(W2V_LAYER_HEAD, ctc_loss_reduction="sum"),
            with_labels(audio(padded=True), ctc_labels((6, 4, 2))),
            TEXT_OPTIONS,
            notes="ctc_loss_reduction=sum; padded batch with attention_mask; labels padded with -100",
        ),
        Case(
            "wav2vec2-layer-for-ctc-zero-infinity",
            "wav2vec2",
            "Wav2Vec2ForCTC",
            "Wav2Vec2Config",
            dict(W2V_LAYER_HEAD, ctc_loss_reduction="sum"),
            with_labels(audio(padded=True), ctc_labels((6, 4, 20))),
            TEXT_OPTIONS,
            notes="ctc_zero_infinity=True, ctc_loss_reduction=mean (config overrides at load time); row 2 has "
            "20 labels for its 8 frames (infeasible: that row's loss is zeroed)",
            checkpoint="wav2vec2-layer-for-ctc-sum",
            overrides={"ctc_loss_reduction": "mean", "ctc_zero_infinity": True},
        ),
        Case(
            "wav2vec2-layer-for-sequence-classification",
            "wav2vec2",
            "Wav2Vec2ForSequenceClassification",
            "Wav2Vec2Config",
            dict(W2V_LAYER_HEAD, num_labels=3, use_weighted_layer_sum=True),
            with_labels(audio(padded=True), lambda g, c, x: {"labels": torch.tensor([1, 2, 0])}),
            TEXT_OPTIONS,
            notes="use_weighted_layer_sum=True; mean pooling over the real frames given by attention_mask",
        ),
    ]
    # ResNet
    resnet_labels = with_labels(pixels(32, 32), image_labels)
    cases += [
        Case("resnet-basic-model", "resnet", "ResNetModel", "ResNetConfig", RESNET_BASIC, pixels(32, 32),
             RESNET_OPTIONS),
        Case(
            "resnet-basic-for-image-classification",
            "resnet",
            "ResNetForImageClassification",
            "ResNetConfig",
            dict(RESNET_BASIC_HEAD, num_labels=5),
            resnet_labels,
            RESNET_OPTIONS,
        ),
        Case("resnet-bottleneck-model", "resnet", "ResNetModel", "ResNetConfig", RESNET_BOTTLENECK,
             pixels(32, 32), RESNET_OPTIONS),
        Case(
            "resnet-bottleneck-for-image-classification",
            "resnet",
            "ResNetForImageClassification",
            "ResNetConfig",
            dict(RESNET_BOTTLENECK, num_labels=5),
            resnet_labels,
            RESNET_OPTIONS,
        ),
        Case(
            "resnet-bottleneck-downsample-for-image-classification",
            "resnet",
            "ResNetForImageClassification",
            "ResNetConfig",
            dict(RESNET_BOTTLENECK, num_labels=5),
            resnet_labels,
            RESNET_OPTIONS,
            notes="downsample_in_first_stage=True, downsample_in_bottleneck=True (stride on the first 1x1 conv) as "
            "config overrides at load time: the weight shapes do not change",
            checkpoint="resnet-bottleneck-for-image-classification",
            overrides={"downsample_in_first_stage": True, "downsample_in_bottleneck": True},
        ),
    ]
    return cases


# ------------------------------------------------------------------------------------------ generation


def perturb(model: torch.nn.Module, g: torch.Generator) -> None:
    with torch.no_grad():
        for _, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if param.requires_grad and param.is_floating_point():
                param.add_(torch.randn(param.shape, generator=g) * PERTURB_STD)
        for name, buf in sorted(model.named_buffers(), key=lambda kv: kv[0]):
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=g) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(0.5 + torch.rand(buf.shape, generator=g))


LEGACY_RENAMES = {
    "parametrizations.weight.original0": "weight_g",
    "parametrizations.weight.original1": "weight_v",
}


def rename_to_legacy_weight_norm(path: Path) -> list[str]:
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    renamed: dict[str, torch.Tensor] = {}
    changed = []
    for key, value in tensors.items():
        new = key
        for old_suffix, new_suffix in LEGACY_RENAMES.items():
            if key.endswith(old_suffix):
                new = key[: -len(old_suffix)] + new_suffix
                changed.append(f"{key} -> {new}")
        renamed[new] = value
    save_file(renamed, str(path), metadata=metadata)
    return changed


def flatten_outputs(output: Any) -> dict[str, torch.Tensor]:
    flat: dict[str, torch.Tensor] = {}
    for key, value in output.items():
        if value is None or key == "past_key_values":  # a decoder's cache object: not a tensor to compare
            continue
        if isinstance(value, torch.Tensor):
            flat[f"output.{key}"] = value
        elif isinstance(value, (tuple, list)):
            for i, item in enumerate(value):
                flat[f"output.{key}.{i}"] = item
        else:
            raise TypeError(f"unexpected output {key}: {type(value)}")
    return flat


def generate_case(case: Case, root: Path) -> dict[str, Any]:
    import transformers

    folder = fresh_dir(root / case.name)
    seed = stable_seed(case.name)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model_cls = getattr(transformers, case.cls)

    renamed: list[str] = []
    if case.checkpoint is None:
        config = getattr(transformers, case.config_cls)(**case.config)
        config._attn_implementation = "eager"
        model = model_cls(config)
        perturb(model, g)
        model.eval()
        model.save_pretrained(folder, safe_serialization=True)
        if case.legacy_weight_norm:
            renamed = rename_to_legacy_weight_norm(folder / "model.safetensors")
            assert renamed, "no weight-norm parametrization keys found to rename"
        checkpoint = folder
    else:
        model = None
        checkpoint = root / case.checkpoint
        if not (checkpoint / "model.safetensors").is_file():
            raise RuntimeError(f"{case.name}: checkpoint case {case.checkpoint} must be generated first")

    loaded, info = model_cls.from_pretrained(
        checkpoint, attn_implementation="eager", output_loading_info=True, **case.overrides
    )
    bad = {k: v for k, v in info.items() if v}
    if bad:
        raise RuntimeError(f"{case.name}: reference reload was not clean: {bad}")
    for key, value in case.overrides.items():  # a config attribute, or an argument of the model (target_lang)
        assert getattr(loaded.config, key, getattr(loaded, key, None)) == value, key
    loaded.eval()
    inputs = case.inputs(g, loaded.config)
    with torch.no_grad():
        out = loaded(**inputs, **case.options, return_dict=True)
        flat = flatten_outputs(out)
        if model is not None:  # the saved-and-reloaded model computes what the built one does
            # (up to rounding: kernels may block memory-mapped and fresh tensors differently)
            for key, value in flatten_outputs(model(**inputs, **case.options, return_dict=True)).items():
                scale = max(1.0, float(value.abs().max())) if value.is_floating_point() and value.numel() else 1.0
                if value.shape != flat[key].shape or not torch.allclose(value, flat[key], rtol=0, atol=1e-5 * scale):
                    raise RuntimeError(f"{case.name}: {key} differs between the built and the reloaded model")

    tensors = {f"input.{k}": v.clone().contiguous() for k, v in inputs.items()}
    tensors.update({k: v.detach().clone().contiguous() for k, v in flat.items()})
    save_file(tensors, str(folder / "io.safetensors"), metadata={"reference": reference_tag()})

    with safe_open(str(checkpoint / "model.safetensors"), "pt") as f:
        weight_keys = sorted(f.keys())
    meta: dict[str, Any] = {
        "class": case.cls,
        "config_class": case.config_cls,
        "family": case.family,
        "reference": reference_tag(),
        "forward_kwargs": list(inputs),
        "forward_options": case.options,
        "outputs": sorted(flat),
        "seed": seed,
        "perturbation_std": PERTURB_STD,
        "atol": 1e-5,
        "notes": case.notes,
    }
    if case.checkpoint is not None:
        meta["checkpoint"] = case.checkpoint
        meta["config_overrides"] = case.overrides
    if case.family == "wav2vec2":
        meta["weight_norm_keys"] = "legacy" if any(k.endswith("weight_g") for k in weight_keys) else "parametrizations"
        meta["weight_norm_key_names"] = [k for k in weight_keys if k.startswith(("encoder.pos_conv_embed.conv.weight",
                                         "encoder.pos_conv_embed.conv.parametrizations", "wav2vec2.encoder.pos_conv"))
                                         and "bias" not in k]
    if renamed:
        meta["renamed_keys"] = renamed
    write_json(folder / "case.json", meta)
    return meta


def generate(out: Path, only: list[str] | None = None) -> list[str]:
    root = out / "models"
    root.mkdir(parents=True, exist_ok=True)
    cases = all_cases()
    names = [c.name for c in cases]
    assert len(set(names)) == len(names), "duplicate case names"
    if only is None:
        # drop case folders that no longer exist in the list (the decoder cases of gen_decoders.py stay)
        from gen_decoders import all_cases as decoder_cases
        from gen_heads import all_cases as head_cases
        from gen_opt import all_cases as opt_cases

        kept = set(names) | {c.name for make in (decoder_cases, head_cases, opt_cases) for c in make()}
        for stale in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in kept):
            fresh_dir(stale).rmdir()
    return write_cases(cases, root, only)


def write_cases(cases: list[Case], root: Path, only: list[str] | None = None,
                before: Callable[[Case], None] | None = None) -> list[str]:
    """Write each case's fixture folder under ``root`` (only those named in ``only``, when given), after
    ``before(case)`` where a case needs files of its own first; the names of all the cases."""
    root.mkdir(parents=True, exist_ok=True)
    for case in cases:
        if only and case.name not in only:
            continue
        if before is not None:
            before(case)
        generate_case(case, root)
        print(f"  models/{case.name}")
    return [c.name for c in cases]


def main() -> None:
    run_case_generator(__doc__ or "", generate)


if __name__ == "__main__":
    main()
