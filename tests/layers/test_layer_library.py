"""The layer library's shared pieces, on their own: the layer stack and the generic task heads (with their
forward).

The families' tests (tests/models) and the parity fixtures prove the pieces inside real models; these pin the
contracts a new family (a decoder, say) relies on, with toy layers whose results are known exactly.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from modelyard.configuration import PretrainedConfig
from modelyard.layers import generic_heads, heads
from modelyard.layers.mlp import OutputProjection
from modelyard.layers.pooling import FirstTokenPooler
from modelyard.layers.returns import finish_output
from modelyard.layers.stack import LayerStack
from modelyard.outputs import BaseModelOutput, ImageClassifierOutputWithNoAttention, ModelOutput


class AddLayer(nn.Module):
    """hidden + weight (+ shift); 'probabilities' record the head mask it got (or ones), counts its calls."""

    def __init__(self, shift: float = 0.0) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor(1.0))
        self.shift = shift
        self.calls = 0

    def forward(self, hidden, *rest):
        self.calls += 1
        *args, output_attentions = rest
        head_mask = args[-1] if args else None
        probs = None
        if output_attentions:
            probs = torch.ones(1, 2, 1, 1) if head_mask is None else head_mask.expand(1, 2, 1, 1).clone()
        return hidden * self.weight + 1.0 + self.shift, probs


def _stack(n: int = 3, **options) -> LayerStack:
    return LayerStack((AddLayer() for _ in range(n)), name="layer", **options).requires_grad_(False)


def test_stack_collects_each_layer_input_and_the_final_output() -> None:
    stack = _stack()
    out = stack(torch.zeros(1, 2), output_attentions=True, output_hidden_states=True)
    assert isinstance(out, BaseModelOutput)
    assert [float(h[0, 0]) for h in out.hidden_states] == [0.0, 1.0, 2.0, 3.0]
    assert float(out.last_hidden_state[0, 0]) == 3.0
    assert len(out.attentions) == 3
    quiet = stack(torch.zeros(1, 2))
    assert quiet.hidden_states is None and quiet.attentions is None
    assert list(dict(stack.named_children())) == ["layer"]  # the checkpoint's name for the list


def test_stack_hands_each_layer_its_head_mask_slice_in_the_hidden_dtype() -> None:
    stack = _stack(layers_take_head_mask=True)
    mask = torch.tensor([[1, 0], [0, 1], [1, 1]])  # (layers, heads), integers
    out = stack(torch.zeros(1, 2, dtype=torch.float64), head_mask=mask, output_attentions=True)
    assert [p.dtype for p in out.attentions] == [torch.float64] * 3
    assert [p.flatten().tolist() for p in out.attentions] == [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    plain = stack(torch.zeros(1, 2), output_attentions=True)  # no mask: each layer still gets the slot (None)
    assert all(p.flatten().tolist() == [1.0, 1.0] for p in plain.attentions)
    with pytest.raises(ValueError, match="head_mask must have shape"):
        stack(torch.zeros(1, 2), head_mask=torch.ones(2, 2))


def test_a_stack_whose_layers_take_no_head_mask_refuses_one() -> None:
    with pytest.raises(ValueError, match="take no head mask"):
        _stack()(torch.zeros(1, 2), head_mask=torch.ones(2))


def test_final_norm_is_applied_and_collected_last() -> None:
    stack = LayerStack([AddLayer(), AddLayer()]).requires_grad_(False)
    out = stack.run_layers(stack.layers, torch.zeros(1, 2), output_hidden_states=True, final_norm=nn.Tanh())
    assert torch.equal(out.last_hidden_state, torch.tanh(torch.full((1, 2), 2.0)))
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)
    assert float(out.hidden_states[-2][0, 0]) == 1.0  # the last layer's input, before the norm


def test_layerdrop_skips_layers_only_while_training() -> None:
    stack = _stack()
    stack.train()
    out = stack.run_layers(stack.layer, torch.zeros(1, 2), output_attentions=True, layerdrop=1.0)
    assert float(out.last_hidden_state[0, 0]) == 0.0 and out.attentions == (None, None, None)
    stack.eval()
    out = stack.run_layers(stack.layer, torch.zeros(1, 2), layerdrop=1.0)
    assert float(out.last_hidden_state[0, 0]) == 3.0


def test_gradient_checkpointing_recomputes_layers_with_the_same_gradients() -> None:
    def grads(checkpointing: bool) -> tuple[list[torch.Tensor], list[int]]:
        torch.manual_seed(0)
        stack = LayerStack([AddLayer(shift=0.5), AddLayer()]).train()
        if checkpointing:
            stack.gradient_checkpointing = True
            stack._gradient_checkpointing_func = functools.partial(checkpoint, use_reentrant=False)
        x = torch.randn(2, 3, requires_grad=True)
        (stack(x).last_hidden_state ** 2).sum().backward()
        return [x.grad, *(p.grad for p in stack.parameters())], [layer.calls for layer in stack.layers]

    plain, plain_calls = grads(False)
    checkpointed, checkpointed_calls = grads(True)
    assert plain_calls == [1, 1] and checkpointed_calls == [2, 2]  # recomputed in the backward pass
    for a, b in zip(plain, checkpointed):
        assert torch.equal(a, b)


# ---------------------------------------------------------------------------------------------- heads
class ToyClassifier(heads.SequenceClassificationHead):
    def __init__(self, **config) -> None:
        self.config = PretrainedConfig(**config)

    def head_logits(self, encoded):
        return encoded.last_hidden_state[:, 0]


def _encoded(logits: torch.Tensor) -> BaseModelOutput:
    hidden = (torch.zeros(1),)
    return BaseModelOutput(last_hidden_state=logits[:, None], hidden_states=hidden, attentions=hidden)


@pytest.mark.parametrize(
    ("num_labels", "labels", "problem_type", "expected"),
    [
        (3, torch.tensor([2, 0]), "single_label_classification", lambda lg, lb: F.cross_entropy(lg, lb)),
        (3, torch.tensor([[1.0, 0, 1], [0, 1, 0]]), "multi_label_classification",
         lambda lg, lb: F.binary_cross_entropy_with_logits(lg, lb)),
        (1, torch.tensor([0.5, -1.0]), "regression", lambda lg, lb: F.mse_loss(lg.squeeze(), lb)),
    ],
)
def test_sequence_classification_head_picks_the_loss_like_the_reference(num_labels, labels, problem_type, expected):
    head = ToyClassifier(num_labels=num_labels)
    logits = torch.arange(2.0 * num_labels).view(2, num_labels) / 4
    out = head.head_forward(_encoded(logits), labels, None)
    assert head.config.problem_type == problem_type  # recorded on the config, as the reference does
    assert torch.equal(out.loss, expected(logits, labels))
    assert torch.equal(out.logits, logits) and out.hidden_states is not None and out.attentions is not None
    as_tuple = head.head_forward(_encoded(logits), labels, False)
    assert isinstance(as_tuple, tuple) and torch.equal(as_tuple[0], out.loss)
    assert head.head_forward(_encoded(logits), None, None).loss is None


def test_an_output_class_without_attentions_gets_none_passed_to_it() -> None:
    head = ToyClassifier(num_labels=2)
    head.output_class = ImageClassifierOutputWithNoAttention
    out = head.head_forward(_encoded(torch.zeros(1, 2)), None, True)
    assert isinstance(out, ImageClassifierOutputWithNoAttention) and list(out.keys()) == ["logits", "hidden_states"]


def test_fields_the_base_output_shares_with_the_head_output_pass_through() -> None:
    @dataclass
    class WithPast(ModelOutput):
        loss: torch.Tensor | None = None
        logits: torch.Tensor | None = None
        past_key_values: Any = None
        hidden_states: tuple[torch.Tensor, ...] | None = None

    @dataclass
    class DecoderOutput(ModelOutput):
        last_hidden_state: torch.Tensor | None = None
        past_key_values: Any = None

    head = ToyClassifier(num_labels=2, pad_token_id=0)
    head.output_class = WithPast
    cache = ((torch.ones(1),),)
    out = head.head_output(torch.zeros(1, 2), DecoderOutput(torch.zeros(1, 1, 2), cache), None)
    assert out.past_key_values is cache and out.hidden_states is None and list(out.keys()) == ["logits", "past_key_values"]


def test_question_answering_head_splits_start_and_end_and_ignores_positions_past_the_end() -> None:
    class ToyQA(heads.QuestionAnsweringHead):
        config = PretrainedConfig()

        def head_logits(self, encoded):
            return encoded.last_hidden_state

    logits = torch.tensor([[[0.0, 3.0], [2.0, 0.0], [1.0, 1.0]], [[1.0, 0.0], [0.0, 2.0], [3.0, 1.0]]])  # (batch, seq, 2)
    starts, ends = torch.tensor([1, 2]), torch.tensor([7, 0])  # row 0's end lies past the sequence: ignored
    out = ToyQA().head_forward(BaseModelOutput(last_hidden_state=logits), starts, ends, None)
    assert torch.equal(out.start_logits, logits[..., 0]) and torch.equal(out.end_logits, logits[..., 1])
    start_loss = F.cross_entropy(logits[..., 0], starts)
    end_loss = F.cross_entropy(logits[1:, :, 1], ends[1:])
    torch.testing.assert_close(out.loss, (start_loss + end_loss) / 2)
    assert ToyQA().head_forward(BaseModelOutput(last_hidden_state=logits), starts, None, None).loss is None


def test_multiple_choice_head_folds_choices_into_the_batch_and_back() -> None:
    class ToyChoices(heads.MultipleChoiceHead):
        config = PretrainedConfig()

        def head_logits(self, encoded):
            return encoded.last_hidden_state.sum(-1, keepdim=True)  # (batch * choices, 1)

    ids = torch.arange(24).view(2, 3, 4)  # (batch, choices, seq)
    embeds = torch.zeros(2, 3, 4, 5)
    flat = heads.MultipleChoiceHead.flatten_choices
    assert flat(ids).shape == (6, 4) and flat(embeds, 2).shape == (6, 4, 5) and flat(None) is None
    out = ToyChoices().head_forward(BaseModelOutput(last_hidden_state=flat(ids).float()), torch.tensor([2, 0]),
                                    None, num_choices=3)
    assert out.logits.shape == (2, 3)
    assert torch.equal(out.loss, F.cross_entropy(out.logits, torch.tensor([2, 0])))


class RecordingBase(nn.Module):
    """A base model that records the keywords it was called with and returns the input ids as hidden states."""

    def forward(self, **inputs):
        self.inputs = inputs
        given = inputs["input_ids"] if inputs["input_ids"] is not None else inputs["inputs_embeds"][..., 0]
        return BaseModelOutput(last_hidden_state=given.float()[..., None], hidden_states=(given.float(),))


class ToyModel(nn.Module):
    config = PretrainedConfig()

    def __init__(self) -> None:
        super().__init__()
        self.base_model = RecordingBase()


def test_generic_multiple_choice_folds_every_choice_input_for_the_base_model_and_unfolds_the_scores() -> None:
    class ToyChoices(generic_heads.GenericForMultipleChoice, ToyModel):
        def head_logits(self, encoded):
            return encoded.last_hidden_state.sum(1)  # (batch * choices, 1): the sum of each choice's ids

    model = ToyChoices()
    ids = torch.arange(24).view(2, 3, 4)  # (batch, choices, seq)
    head_mask = torch.ones(2)
    out = model.task_forward(torch.tensor([2, 0]), input_ids=ids, attention_mask=torch.ones(2, 3, 4),
                             token_type_ids=None, head_mask=head_mask, output_attentions=False, return_dict=None)
    seen = model.base_model.inputs
    assert seen["input_ids"].shape == (6, 4) and seen["attention_mask"].shape == (6, 4)
    assert seen["token_type_ids"] is None and seen["head_mask"] is head_mask and seen["output_attentions"] is False
    assert seen["return_dict"] is True
    assert out.logits.tolist() == ids.sum(-1).float().tolist()  # (batch, choices), in the inputs' order
    assert torch.equal(out.loss, F.cross_entropy(out.logits, torch.tensor([2, 0])))
    assert out.hidden_states is not None  # the base model's extras pass through
    embeds = torch.zeros(2, 3, 4, 5)
    model.task_forward(None, input_ids=None, inputs_embeds=embeds)
    assert model.base_model.inputs["inputs_embeds"].shape == (6, 4, 5)
    with pytest.raises(ValueError, match="input_ids or inputs_embeds"):
        model.task_forward(None, input_ids=None, inputs_embeds=None)


def test_generic_question_answering_passes_the_inputs_by_name_and_scores_the_span() -> None:
    class ToyQA(generic_heads.GenericForQuestionAnswering, ToyModel):
        def head_logits(self, encoded):
            hidden = encoded.last_hidden_state
            return torch.cat([hidden, -hidden], dim=-1)  # (batch, seq, 2)

    model = ToyQA()
    ids = torch.tensor([[3, 1, 2], [0, 5, 4]])
    out = model(ids, token_type_ids=torch.zeros(2, 3), start_positions=torch.tensor([0, 1]),
                end_positions=torch.tensor([1, 9]), output_hidden_states=True)
    seen = model.base_model.inputs
    # the inputs by name, and of the output switches the ones given (the base model defaults the others)
    assert set(seen) == {"input_ids", "attention_mask", "token_type_ids", "position_ids", "head_mask",
                         "inputs_embeds", "output_hidden_states", "return_dict"}
    assert seen["input_ids"] is ids and seen["output_hidden_states"] is True and seen["attention_mask"] is None
    with pytest.raises(TypeError, match="output_hidden_state"):  # a misspelt switch is refused, as before
        model(ids, output_hidden_state=True)
    assert torch.equal(out.start_logits, ids.float()) and torch.equal(out.end_logits, -ids.float())
    start_loss = F.cross_entropy(ids.float(), torch.tensor([0, 1]))
    end_loss = F.cross_entropy(-ids.float()[:1], torch.tensor([1]))  # row 1's end lies past the sequence
    torch.testing.assert_close(out.loss, (start_loss + end_loss) / 2)
    assert isinstance(model(ids, return_dict=False), tuple)


def test_last_token_pool_finds_each_rows_last_real_token_with_either_padding() -> None:
    hidden = torch.arange(2 * 4 * 1.0).view(2, 4, 1)
    right = torch.tensor([[5, 6, 0, 0], [5, 6, 7, 8]])
    left = torch.tensor([[0, 0, 5, 6], [0, 5, 6, 7]])
    assert heads.last_token_pool(hidden, right, 0).flatten().tolist() == [1.0, 7.0]
    assert heads.last_token_pool(hidden, left, 0).flatten().tolist() == [3.0, 7.0]
    assert heads.last_token_pool(hidden[:1], None, None).flatten().tolist() == [3.0]
    with pytest.raises(ValueError, match="pad_token_id"):
        heads.last_token_pool(hidden, right, None)


def test_finish_output_follows_return_dict_then_the_config() -> None:
    out = BaseModelOutput(last_hidden_state=torch.zeros(1))
    config = PretrainedConfig()
    assert finish_output(out, None, config) is out
    assert finish_output(out, False, config) == (out.last_hidden_state,)
    config.return_dict = False
    assert isinstance(finish_output(out, None, config), tuple) and finish_output(out, True, config) is out


def test_output_projection_and_pooler_compute_what_their_docstrings_say() -> None:
    torch.manual_seed(0)
    x, residual = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    post_norm = OutputProjection(4, 4, 0.0, layer_norm_eps=1e-12).eval()
    expected = F.layer_norm(post_norm.dense(x) + residual, (4,), post_norm.LayerNorm.weight, post_norm.LayerNorm.bias, 1e-12)
    assert torch.equal(post_norm(x, residual), expected)
    plain = OutputProjection(4, 4, 0.0).eval()
    assert torch.equal(plain(x), plain.dense(x)) and not hasattr(plain, "LayerNorm")
    pooler = FirstTokenPooler(4, 2)
    assert torch.equal(pooler(x), torch.tanh(pooler.dense(x[:, 0])))
