"""Task heads of decoder models (causal LM, last-token sequence classification, token classification,
extractive QA), written once for every family whose base model follows the decoder forward contract.

A head class lists the mixin first, then the family's ``PreTrainedModel``, which provides
``_make_backbone(config)`` (the family's base model) and may say what its base model differs in:
``head_input_size(config)`` (the width of its output, ``hidden_size`` unless said; OPT's is
``word_embed_proj_dim``) and ``backbone_extra_inputs`` (keywords the heads pass on to it, OPT's
``head_mask``). The base model is stored under ``base_model_prefix`` (``model`` for Llama; some reference heads
use ``transformer``), so submodule names equal the reference's checkpoint keys. Losses follow the reference:
the causal-LM labels are shifted inside the model (pass ``labels=input_ids``), ``num_items_in_batch`` (the
Trainer's token count under gradient accumulation) turns the mean into a sum divided by it.
"""

# No ``from __future__ import annotations``: the forwards' ``**kwargs: Unpack[...]`` annotations stay live objects,
# which is how tools that read a signature (the Trainer, the reference's tests) see the output switches.

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.generation.utils import GenerationMixin
from modelyard.layers.heads import IGNORE_INDEX, question_answering_loss, sequence_classification_loss
from modelyard.layers.returns import OutputSwitches, Unpack, finish_output, inner_switches
from modelyard.outputs import (
    CausalLMOutputWithPast,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutputWithPast,
    TokenClassifierOutput,
)

logger = logging.getLogger(__name__)


class CausalLMKeywords(OutputSwitches, total=False):
    """A causal language model's keywords besides its inputs: the output switches and the Trainer's loss options."""

    num_items_in_batch: torch.Tensor | int | None  # tokens in the whole accumulated batch: the loss is sum / this
    shift_labels: torch.Tensor | None  # labels already shifted by one (used as they are)


class DecoderKeywords(CausalLMKeywords, total=False):
    """The keywords of the shared decoder heads: a causal LM's, and the inputs a family's base model adds to the
    common ones (``backbone_extra_inputs``: OPT's ``head_mask``)."""

    head_mask: torch.Tensor | None


def causal_lm_loss(
    logits: torch.Tensor,
    labels: torch.Tensor | None,
    vocab_size: int,
    *,
    num_items_in_batch: torch.Tensor | int | None = None,
    ignore_index: int = IGNORE_INDEX,
    shift_labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Next-token cross-entropy in float32: position t predicts label t + 1 (or ``shift_labels[t]``)."""
    logits = logits.float()
    if shift_labels is None:
        shift_labels = F.pad(labels, (0, 1), value=ignore_index)[..., 1:]  # type: ignore[arg-type]  # labels is given when shift_labels is not
    shift_labels = shift_labels.reshape(-1).to(logits.device)
    reduction = "sum" if num_items_in_batch is not None else "mean"
    loss = F.cross_entropy(logits.reshape(-1, vocab_size), shift_labels, ignore_index=ignore_index, reduction=reduction)
    if num_items_in_batch is not None:
        if isinstance(num_items_in_batch, torch.Tensor):
            num_items_in_batch = num_items_in_batch.to(loss.device)
        loss = loss / num_items_in_batch
    return loss


def last_token_index(
    input_ids: torch.Tensor | None, pad_token_id: int | None, batch_size: int, *, where: str
) -> torch.Tensor | int:
    """Per row, the index of the rightmost token that is not padding (left or right padding alike)."""
    if pad_token_id is None:
        if batch_size != 1:
            raise ValueError(
                f"{where} pools the last non-padding token of each row, but config.pad_token_id is None, so padding "
                f"cannot be told apart in a batch of {batch_size}; set config.pad_token_id (e.g. to the tokenizer's "
                "pad_token_id) or pass one sequence at a time."
            )
        return -1
    if input_ids is None:
        logger.warning("%s cannot find padding in inputs_embeds; the last position of each row is used.", where)
        return -1
    not_pad = (input_ids != pad_token_id).to(torch.int32)
    positions = torch.arange(input_ids.shape[-1], device=input_ids.device, dtype=torch.int32)
    return (positions * not_pad).argmax(-1)


def causal_lm_output(logits: torch.Tensor, labels: torch.Tensor | None, config: Any, out: Any,
                     loss_kwargs: Mapping[str, Any],
                     output_class: type = CausalLMOutputWithPast) -> Any:
    """The causal-LM output from its logits (the loss from shifted labels when given) and the base output."""
    loss = None
    if labels is not None:
        loss = causal_lm_loss(logits, labels, config.vocab_size, num_items_in_batch=loss_kwargs.get("num_items_in_batch"),
                              shift_labels=loss_kwargs.get("shift_labels"))
    return output_class(loss=loss, logits=logits, past_key_values=out.past_key_values,
                        hidden_states=out.hidden_states, attentions=out.attentions)


def last_token_scores_output(scores: torch.Tensor, input_ids: torch.Tensor | None, labels: torch.Tensor | None,
                             config: Any, out: Any, *, where: str) -> SequenceClassifierOutputWithPast:
    """Per-token scores ``(batch, seq, num_labels)`` read at each row's last non-padding token, with the loss."""
    batch = scores.shape[0]
    last = last_token_index(input_ids, config.pad_token_id, batch, where=where)
    pooled = scores[torch.arange(batch, device=scores.device), last]  # (batch, num_labels)
    loss = sequence_classification_loss(pooled, labels, config) if labels is not None else None
    return SequenceClassifierOutputWithPast(loss=loss, logits=pooled, past_key_values=out.past_key_values,
                                            hidden_states=out.hidden_states, attentions=out.attentions)


def token_scores_output(logits: torch.Tensor, labels: torch.Tensor | None, out: Any) -> TokenClassifierOutput:
    """Per-token label logits ``(batch, seq, num_labels)`` with the cross-entropy over scored tokens."""
    loss = None
    if labels is not None:
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1).to(logits.device),
                               ignore_index=IGNORE_INDEX)
    return TokenClassifierOutput(loss=loss, logits=logits, hidden_states=out.hidden_states, attentions=out.attentions)


def answer_span_output(logits: torch.Tensor, start_positions: torch.Tensor | None,
                       end_positions: torch.Tensor | None, out: Any) -> QuestionAnsweringModelOutput:
    """Start/end logits from ``(batch, seq, 2)``, with the span loss when both positions are given."""
    start_logits, end_logits = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))
    loss = None
    if start_positions is not None and end_positions is not None:
        loss = question_answering_loss(start_logits, end_logits, start_positions, end_positions)
    return QuestionAnsweringModelOutput(loss=loss, start_logits=start_logits, end_logits=end_logits,
                                        hidden_states=out.hidden_states, attentions=out.attentions)


class _DecoderHead(nn.Module):
    """Plumbing of the heads; the family's PreTrainedModel (later in the MRO) defines _make_backbone(config)."""

    config: Any
    base_model_prefix: ClassVar[str]

    if TYPE_CHECKING:  # given by the family's PreTrainedModel, later in the MRO
        def _make_backbone(self, config: Any) -> nn.Module: ...

        def post_init(self) -> None: ...

    def _backbone(self) -> nn.Module:
        return getattr(self, self.base_model_prefix)

    def _run_backbone(self, extra: Mapping[str, Any], **inputs: Any) -> Any:
        """The base model's output. Of ``extra`` (the head's ``**kwargs``) it passes on the output switches and the
        inputs the family's base model adds to the shared contract, named by ``backbone_extra_inputs`` on the
        family's PreTrainedModel (OPT's ``head_mask``)."""
        for name in getattr(self, "backbone_extra_inputs", ()):
            if name in extra:
                inputs[name] = extra[name]
        return self._backbone()(**inputs, **inner_switches(extra))

    def _head_input_size(self, config: Any) -> int:
        """The width of the base model's output: ``hidden_size``, unless the family's PreTrainedModel says
        otherwise with ``head_input_size(config)`` (OPT's heads read ``word_embed_proj_dim``)."""
        family_rule = getattr(self, "head_input_size", None)
        return int(family_rule(config)) if family_rule is not None else int(config.hidden_size)


class LMHeadBase(_DecoderHead, GenerationMixin):
    """All of the causal-LM head except its ``forward``: the base model and the next-token logits over the vocabulary
    (``lm_head``, tied to the input embeddings when the config says), the result from the base model's output
    (:meth:`_lm_output`). :class:`CausalLMHead` adds the decoders' common forward; a family whose reference takes
    other arguments in another order (GPT-2) writes its own."""

    _tied_weights_keys: ClassVar[list[str] | None] = ["lm_head.weight"]

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        setattr(self, self.base_model_prefix, self._make_backbone(config))
        self.vocab_size = config.vocab_size
        self.lm_head: nn.Module = nn.Linear(self._head_input_size(config), config.vocab_size, bias=False)
        self.post_init()

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, new_embeddings: nn.Module) -> None:
        self.lm_head = new_embeddings

    def _lm_output(self, out: Any, labels: torch.Tensor | None, logits_to_keep: int | torch.Tensor,
                   kwargs: Mapping[str, Any], output_class: type = CausalLMOutputWithPast) -> Any:
        """The forward's result from the base model's output ``out``: the logits of the kept positions, the loss
        from ``labels`` (with the loss options of ``kwargs``), as an ``output_class`` or its tuple (``kwargs``'
        ``return_dict``)."""
        kept = slice(-logits_to_keep, None) if isinstance(logits_to_keep, int) else logits_to_keep
        logits = self.lm_head(out.last_hidden_state[:, kept, :])  # (batch, kept, vocab)
        result = causal_lm_output(logits, labels, self.config, out, kwargs, output_class)
        return finish_output(result, kwargs.get("return_dict"), self.config)


class CausalLMHead(LMHeadBase):
    """Next-token logits over the vocabulary (``lm_head``, tied to the input embeddings when the config says)."""

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        cache_position: torch.Tensor | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        **kwargs: Unpack[DecoderKeywords],
    ) -> CausalLMOutputWithPast | tuple[Any, ...]:
        """``labels``: (batch, seq) token ids, usually ``input_ids`` itself (shifted inside), -100 where no
        prediction is scored. ``logits_to_keep``: compute logits for the last n positions only (0: all)."""
        out = self._run_backbone(
            kwargs,
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
            past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache,
            cache_position=cache_position,
        )
        return self._lm_output(out, labels, logits_to_keep, kwargs)


class _LabelledHead(_DecoderHead):
    """The forward of the heads that take ``labels`` (sequence and token classification): the base model,
    then the head's :meth:`labelled_output` (its logits, the loss from ``labels``, the output object)."""

    def labelled_output(self, out: Any, input_ids: torch.Tensor | None, labels: torch.Tensor | None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define labelled_output(out, input_ids, labels).")

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs: Unpack[DecoderKeywords],
    ) -> SequenceClassifierOutputWithPast | TokenClassifierOutput | tuple[Any, ...]:
        out = self._run_backbone(
            kwargs,
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
            past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=use_cache,
        )
        return finish_output(self.labelled_output(out, input_ids, labels), kwargs.get("return_dict"), self.config)


class SequenceClassificationHead(_LabelledHead):
    """Scores (``score``, no bias) read at each row's last non-padding token."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        setattr(self, self.base_model_prefix, self._make_backbone(config))
        self.score = nn.Linear(self._head_input_size(config), self.num_labels, bias=False)
        self.post_init()

    def labelled_output(self, out: Any, input_ids: torch.Tensor | None, labels: torch.Tensor | None) -> Any:
        """``labels``: (batch,) class ids, (batch, num_labels) floats for multi-label, or floats to regress."""
        scores = self.score(out.last_hidden_state)  # (batch, seq, num_labels)
        return last_token_scores_output(scores, input_ids, labels, self.config, out, where=type(self).__name__)


def classifier_dropout(config: Any) -> float:
    """``classifier_dropout``, else ``hidden_dropout``, else 0.1 (the reference's order)."""
    for name in ("classifier_dropout", "hidden_dropout"):
        value = getattr(config, name, None)
        if value is not None:
            return float(value)
    return 0.1


class TokenClassificationHead(_LabelledHead):
    """A label per token (``score`` after dropout)."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        setattr(self, self.base_model_prefix, self._make_backbone(config))
        self.dropout = nn.Dropout(classifier_dropout(config))
        self.score = nn.Linear(self._head_input_size(config), config.num_labels)
        self.post_init()

    def labelled_output(self, out: Any, input_ids: torch.Tensor | None, labels: torch.Tensor | None) -> Any:
        """``labels``: (batch, seq) class ids, -100 where no label is scored."""
        logits = self.score(self.dropout(out.last_hidden_state))  # (batch, seq, num_labels)
        return token_scores_output(logits, labels, out)


class QuestionAnsweringHead(_DecoderHead):
    """Start and end logits of an answer span (``qa_outputs``)."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        setattr(self, self.base_model_prefix, self._make_backbone(config))
        self.qa_outputs = nn.Linear(self._head_input_size(config), 2)
        self.post_init()

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        past_key_values: Any = None,
        inputs_embeds: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        **kwargs: Unpack[DecoderKeywords],
    ) -> QuestionAnsweringModelOutput | tuple[Any, ...]:
        """``start_positions`` / ``end_positions``: (batch,) token indices; positions past the end are ignored."""
        out = self._run_backbone(
            kwargs,
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
            past_key_values=past_key_values, inputs_embeds=inputs_embeds, use_cache=False,
        )
        logits = self.qa_outputs(out.last_hidden_state)  # (batch, seq, 2)
        result = answer_span_output(logits, start_positions, end_positions, out)
        return finish_output(result, kwargs.get("return_dict"), self.config)


class TransformerQuestionAnsweringHead(QuestionAnsweringHead):
    """The answer-span head of the families whose reference checkpoints keep this head's base model under
    ``transformer`` rather than ``model`` (Llama's and Qwen2's, kept so for backward compatibility)."""

    base_model_prefix = "transformer"


__all__ = [
    "CausalLMHead",
    "CausalLMKeywords",
    "DecoderKeywords",
    "LMHeadBase",
    "answer_span_output",
    "causal_lm_output",
    "last_token_scores_output",
    "token_scores_output",
    "QuestionAnsweringHead",
    "SequenceClassificationHead",
    "TokenClassificationHead",
    "TransformerQuestionAnsweringHead",
    "causal_lm_loss",
    "classifier_dropout",
    "last_token_index",
]
