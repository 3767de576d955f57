"""``transformers.utils.fx.symbolic_trace`` on modelyard models: a ``torch.fx.GraphModule`` whose outputs are the
model's, for inputs of other sizes than the examples the branches were decided on."""

from __future__ import annotations

import pytest
import torch
from common.tolerance import assert_close_kernels
from torch import fx

import modelyard
from modelyard.compat.transformers.utils.fx import _FX_SUPPORTED_MODELS_WITH_KV_CACHE, symbolic_trace
from modelyard.errors import ConfigurationError

DISTILBERT = dict(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37, max_position_embeddings=32,
                  return_dict=False)


def _text(batch: int, sequence: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(batch * 100 + sequence)
    mask = torch.ones(batch, sequence, dtype=torch.long)
    mask[0, sequence // 2:] = 0  # padding: the mask is applied in the graph, not skipped
    return {"input_ids": torch.randint(0, 99, (batch, sequence), generator=g), "attention_mask": mask}


@pytest.mark.parametrize("name", ["DistilBertModel", "DistilBertForSequenceClassification",
                                  "DistilBertForTokenClassification", "DistilBertForQuestionAnswering"])
def test_a_traced_distilbert_gives_the_model_outputs_at_any_size(name: str) -> None:
    torch.manual_seed(0)
    model = getattr(modelyard, name)(modelyard.DistilBertConfig(**DISTILBERT)).eval()
    traced = symbolic_trace(model, ["input_ids", "attention_mask"])
    assert isinstance(traced, fx.GraphModule)
    assert [n.target for n in traced.graph.nodes if n.op == "placeholder"][:2] == ["input_ids", "attention_mask"]
    for batch, sequence in ((3, 11), (5, 4), (1, 32)):
        inputs = _text(batch, sequence)
        with torch.no_grad():
            for got, want in zip(traced(**inputs), model(**inputs), strict=True):
                assert_close_kernels(got, want, depth=4)


def test_the_loss_is_traced_with_the_labels() -> None:
    torch.manual_seed(0)
    model = modelyard.DistilBertForSequenceClassification(modelyard.DistilBertConfig(**DISTILBERT)).eval()
    model.config.problem_type = "single_label_classification"
    traced = symbolic_trace(model, ["input_ids", "attention_mask", "labels"])
    inputs = {**_text(4, 9), "labels": torch.tensor([0, 1, 1, 0])}
    with torch.no_grad():
        (loss, logits), (want_loss, want_logits) = traced(**inputs), model(**inputs)
    assert loss.dim() == 0
    assert_close_kernels(loss, want_loss, depth=4)
    assert_close_kernels(logits, want_logits, depth=4)


def test_a_traced_resnet_takes_other_image_sizes() -> None:
    torch.manual_seed(0)
    config = modelyard.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3,
                                    return_dict=False)
    model = modelyard.ResNetForImageClassification(config).eval()
    traced = symbolic_trace(model, ["pixel_values"])
    for size in (32, 45):
        pixels = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(size))
        with torch.no_grad():
            assert_close_kernels(traced(pixel_values=pixels)[0], model(pixel_values=pixels)[0], depth=4)


def test_inputs_the_forward_does_not_take_are_refused() -> None:
    model = modelyard.DistilBertModel(modelyard.DistilBertConfig(**DISTILBERT))
    with pytest.raises(ConfigurationError, match=r"no arguments \['pixel_values'\]"):
        symbolic_trace(model, ["input_ids", "pixel_values"])
    assert _FX_SUPPORTED_MODELS_WITH_KV_CACHE == []  # no model traces its cache input
