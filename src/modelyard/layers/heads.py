"""The task heads every family shares: their losses, and generic heads that turn logits into outputs.

The loss rules follow the reference library, so a fine-tuning script gets the same loss from the same
labels: sequence classification picks regression / single-label / multi-label from ``config.problem_type``,
and when that is unset decides it once from ``num_labels`` and the label dtype and records it on the config;
question answering clamps start/end positions to the sequence length and ignores positions outside it.

**Generic heads** (:class:`SequenceClassificationHead`, :class:`TokenClassificationHead`,
:class:`QuestionAnsweringHead`, :class:`MultipleChoiceHead`, :class:`MaskedLMHead`) are mixins placed before
the family's pretrained-model class. The family keeps what differs, in its own file and under the
checkpoint's key names: the modules (built in ``__init__``), the forward signature (its own inputs) and
the step from the base model's output to logits. The generic head adds what is the same everywhere: the
loss from the labels and the output object::

    class BertForTokenClassification(TokenClassificationHead, BertPreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            self.bert = BertModel(config, add_pooling_layer=False)
            self.dropout = nn.Dropout(config.hidden_dropout_prob)
            self.classifier = nn.Linear(config.hidden_size, config.num_labels)
            self.post_init()

        def head_logits(self, encoded):
            return self.classifier(self.dropout(encoded.last_hidden_state))

        def forward(self, input_ids=None, attention_mask=None, labels=None, return_dict=None, ...):
            encoded = self.bert(input_ids, attention_mask, ..., return_dict=True)
            return self.head_forward(encoded, labels, return_dict)

``head_forward(encoded, labels, return_dict)`` = ``head_logits`` + loss + output + ``finish_output``; a
family that computes its logits elsewhere (a decoder pooling the last non-padding token with
:func:`last_token_pool`) calls ``head_output(logits, encoded, labels)`` and ``finish_output`` itself.
``encoded`` is the base model's output object: the fields it shares with the head's ``output_class``
(``hidden_states``, ``attentions``, a decoder's ``past_key_values``) are passed on.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn
from torch.nn import functional as F

import modelyard.outputs as outputs
from modelyard.configuration import PROBLEM_TYPES, PretrainedConfig
from modelyard.layers.returns import finish_output
from modelyard.outputs import ModelOutput

IGNORE_INDEX = -100  # label value that cross-entropy skips (padding, unmasked tokens)


def infer_problem_type(num_labels: int, labels: torch.Tensor) -> str:
    """One label column -> regression; integer labels -> single-label; anything else -> multi-label."""
    if num_labels == 1:
        return "regression"
    if num_labels > 1 and labels.dtype in (torch.long, torch.int):
        return "single_label_classification"
    return "multi_label_classification"


def sequence_classification_loss(
    logits: torch.Tensor, labels: torch.Tensor, config: PretrainedConfig
) -> torch.Tensor:
    """Loss of (batch, num_labels) logits; sets ``config.problem_type`` the first time, as the reference does."""
    num_labels = config.num_labels
    if config.problem_type is None:
        config.problem_type = infer_problem_type(num_labels, labels)
    problem_type = config.problem_type
    if problem_type == "regression":
        if num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
        return F.mse_loss(logits, labels.to(logits.dtype))
    if problem_type == "single_label_classification":
        return F.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    if problem_type == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    raise ValueError(f"config.problem_type must be one of {PROBLEM_TYPES} or None, got {problem_type!r}.")


def token_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over (batch, seq, num_labels) logits; label -100 marks positions to skip."""
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=IGNORE_INDEX)


def masked_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over (batch, seq, vocab) logits; label -100 marks tokens that were not masked."""
    return token_classification_loss(logits, labels)


def multiple_choice_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over (batch, num_choices) logits with the index of the right choice per example."""
    return F.cross_entropy(logits, labels.view(-1))


def question_answering_loss(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    start_positions: torch.Tensor,
    end_positions: torch.Tensor,
) -> torch.Tensor:
    """Mean of start and end cross-entropy over (batch, seq) logits.

    Positions outside the sequence are clamped to ``seq`` and ignored (an answer cut off by truncation
    contributes no loss instead of raising an index error).
    """
    if start_positions.dim() > 1:
        start_positions = start_positions.squeeze(-1)
    if end_positions.dim() > 1:
        end_positions = end_positions.squeeze(-1)
    ignored = start_logits.shape[1]
    start_positions = start_positions.clamp(0, ignored)
    end_positions = end_positions.clamp(0, ignored)
    start_loss = F.cross_entropy(start_logits, start_positions, ignore_index=ignored)
    end_loss = F.cross_entropy(end_logits, end_positions, ignore_index=ignored)
    return (start_loss + end_loss) / 2


def last_token_pool(
    hidden_states: torch.Tensor, input_ids: torch.Tensor | None, pad_token_id: int | None
) -> torch.Tensor:
    """(batch, seq, features) -> (batch, features) at each row's last token that is not padding.

    The pooling of decoders' sequence classifiers: with left or right padding, the rightmost position whose
    id is not ``pad_token_id``; the last position when there are no ids (``inputs_embeds``) or no pad id.
    """
    batch = hidden_states.shape[0]
    if input_ids is None or pad_token_id is None:
        if pad_token_id is None and batch != 1:
            raise ValueError(
                "Sequence classification of a batch of several rows needs config.pad_token_id to find each "
                "row's last token; set pad_token_id in the config (e.g. to the tokenizer's pad or eos id)."
            )
        return hidden_states[:, -1]
    not_pad = (input_ids != pad_token_id).to(torch.int32)
    positions = torch.arange(input_ids.shape[-1], device=input_ids.device, dtype=torch.int32)
    last = (positions * not_pad).argmax(-1).to(hidden_states.device)  # (batch,)
    return hidden_states[torch.arange(batch, device=hidden_states.device), last]


class TiedDecoderBias(nn.Module):
    """Base of a language-model head whose vocabulary projection ``decoder`` (weight tied to the word
    embeddings) has its bias also under the head's own name ``bias``: one parameter, which checkpoints store
    under either key (``cls.predictions.bias``, ``lm_head.bias``)."""

    decoder: nn.Linear

    def share_decoder_bias(self, vocab_size: int) -> None:
        """Create ``bias`` (zeros) and make it ``decoder.bias`` too; called at the end of ``__init__``."""
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        self.decoder.bias = self.bias

    def tie_bias(self) -> None:
        """Make ``bias`` and ``decoder.bias`` one parameter again, keeping the one that holds real values.

        After loading, only one of the two names was filled from the checkpoint (the other is still on
        the meta device); after a vocabulary resize, ``decoder.bias`` has the new size.
        """
        decoder_bias = self.decoder.bias
        use_decoder = decoder_bias is not None and decoder_bias.device.type != "meta" and (
            self.bias.device.type == "meta" or self.bias.shape[0] != self.decoder.weight.shape[0]
        )
        if use_decoder:
            self.bias = decoder_bias
        else:
            self.decoder.bias = self.bias


# ---------------------------------------------------------------------------------------------- generic heads
class TaskHead:
    """Base of the generic heads (mixins for a ``PreTrainedModel`` subclass; see the module docstring)."""

    config: PretrainedConfig
    output_class: ClassVar[type[ModelOutput]]

    def head_logits(self, encoded: Any) -> torch.Tensor:
        """The family's step from the base model's output to logits (its checkpoint-named modules)."""
        raise NotImplementedError(f"{type(self).__name__} must define head_logits(encoded).")

    def head_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def head_output(self, logits: torch.Tensor, encoded: Any, labels: torch.Tensor | None = None) -> ModelOutput:
        """The output object: the loss when ``labels`` are given, the logits, the base model's extras."""
        loss = self.head_loss(logits, labels) if labels is not None else None
        return self.output_class(loss=loss, logits=logits, **_extras(self.output_class, encoded))

    def head_forward(self, encoded: Any, labels: torch.Tensor | None, return_dict: bool | None) -> Any:
        """The end of a head's forward: ``head_logits``, the output with its loss, tuple or object."""
        output = self.head_output(self.head_logits(encoded), encoded, labels)
        return finish_output(output, return_dict, self.config)


_HEAD_FIELDS = ("loss", "logits", "start_logits", "end_logits")  # what a head computes itself


def _extras(output_class: type[ModelOutput], encoded: Any) -> dict[str, Any]:
    """What the head's output passes on from the base model's: every other field ``output_class`` has
    (``hidden_states``, ``attentions``, a decoder's ``past_key_values``), None where ``encoded`` lacks it."""
    fields = output_class.__dataclass_fields__
    return {name: getattr(encoded, name, None) for name in fields if name not in _HEAD_FIELDS}


class SequenceClassificationHead(TaskHead):
    """One label (or ``num_labels`` scores) per sequence: ``head_logits`` gives (batch, num_labels); the loss
    is regression, single-label or multi-label by ``config.problem_type`` (decided from the labels when unset).
    Image classifiers use it too, with their own ``output_class``."""

    output_class: ClassVar[type[ModelOutput]] = outputs.SequenceClassifierOutput  # image heads give theirs

    def head_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return sequence_classification_loss(logits, labels, self.config)


class TokenClassificationHead(TaskHead):
    """One label per token: (batch, seq, num_labels) logits; label -100 marks tokens not scored."""

    output_class = outputs.TokenClassifierOutput

    def head_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return token_classification_loss(logits, labels)


class MaskedLMHead(TaskHead):
    """Vocabulary logits per token: (batch, seq, vocab); label -100 marks tokens that were not masked."""

    output_class = outputs.MaskedLMOutput

    def head_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return masked_lm_loss(logits, labels)


class MultipleChoiceHead(TaskHead):
    """One score per choice. Inputs are (batch, num_choices, ...): :meth:`flatten_choices` folds the choices
    into the batch for the base model, ``head_logits`` scores each (batch * choices, 1), and
    ``head_forward`` unfolds them to (batch, num_choices); labels are the right choice's index."""

    output_class = outputs.MultipleChoiceModelOutput

    @staticmethod
    def flatten_choices(tensor: torch.Tensor | None, trailing_dims: int = 1) -> torch.Tensor | None:
        """(batch, choices, *trailing) -> (batch * choices, *trailing); ``trailing_dims=2`` for embeddings."""
        if tensor is None:
            return None
        return tensor.reshape(-1, *tensor.shape[tensor.dim() - trailing_dims :])

    def head_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return multiple_choice_loss(logits, labels)

    def head_forward(  # type: ignore[override]  # takes the number of choices besides the base head's arguments
        self, encoded: Any, labels: torch.Tensor | None, return_dict: bool | None, *, num_choices: int
    ) -> Any:
        logits = self.head_logits(encoded).view(-1, num_choices)  # (batch, choices)
        return finish_output(self.head_output(logits, encoded, labels), return_dict, self.config)


class QuestionAnsweringHead(TaskHead):
    """Answer spans: ``head_logits`` gives (batch, seq, 2), split into start and end logits (batch, seq); the
    loss is the mean of start and end cross-entropy, positions outside the sequence ignored."""

    output_class = outputs.QuestionAnsweringModelOutput

    def head_output(
        self,
        logits: torch.Tensor,
        encoded: Any,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
    ) -> ModelOutput:
        start_logits, end_logits = (t.squeeze(-1).contiguous() for t in logits.split(1, dim=-1))  # (batch, seq)
        loss = None
        if start_positions is not None and end_positions is not None:
            loss = question_answering_loss(start_logits, end_logits, start_positions, end_positions)
        return self.output_class(
            loss=loss, start_logits=start_logits, end_logits=end_logits, **_extras(self.output_class, encoded)
        )

    def head_forward(  # type: ignore[override]  # takes start and end positions in place of labels
        self,
        encoded: Any,
        start_positions: torch.Tensor | None,
        end_positions: torch.Tensor | None,
        return_dict: bool | None,
    ) -> Any:
        output = self.head_output(self.head_logits(encoded), encoded, start_positions, end_positions)
        return finish_output(output, return_dict, self.config)


__all__ = [
    "IGNORE_INDEX",
    "MaskedLMHead",
    "MultipleChoiceHead",
    "QuestionAnsweringHead",
    "SequenceClassificationHead",
    "TaskHead",
    "TiedDecoderBias",
    "TokenClassificationHead",
    "infer_problem_type",
    "last_token_pool",
    "masked_lm_loss",
    "multiple_choice_loss",
    "question_answering_loss",
    "sequence_classification_loss",
    "token_classification_loss",
]
