"""The forward of the task heads, written once: the base model on the inputs, then the generic head.

:mod:`modelyard.layers.heads` gives a task head its loss and its output object; the classes here add the step
before, running the family's base model, and the ``forward`` that several families share:

- :class:`TokenInputsHead` runs the base model (:meth:`~TokenInputsHead.encode`: ``self.base_model`` on the
  inputs, by keyword; a family whose base model needs more there overrides it) and, for the heads scored against
  ``labels``, :meth:`~TokenInputsHead.task_forward` ends a family's labelled forward: the family writes its
  signature once, in its private head base, and every labelled head inherits it.
- :class:`GenericForMultipleChoice` folds the choices into the batch in :meth:`task_forward`, so the multiple
  choice head takes the family's labelled forward as it is.
- :class:`GenericForQuestionAnswering` is the whole question-answering head for the families whose base model
  takes BERT's token inputs (``input_ids``, ``attention_mask``, ``token_type_ids``, ``position_ids``,
  ``head_mask``, ``inputs_embeds``): BERT, RoBERTa and GPT-2. The family builds ``qa_outputs``; the head reads it.

A forward takes the model output switches as ``**kwargs: Unpack[OutputSwitches]`` (:mod:`modelyard.layers.returns`)
and hands them on to the base model with the inputs.

The family's task class puts the generic head first in its bases and keeps what differs in its own file, under the
checkpoint's key names::

    class BertForQuestionAnswering(GenericForQuestionAnswering, BertPreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            self.bert = BertModel(config, add_pooling_layer=False)
            self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
            self.post_init()
"""

# No ``from __future__ import annotations``: the forwards' ``**kwargs: Unpack[...]`` annotations stay live objects,
# which is how tools that read a signature (the Trainer, the reference's tests) see the output switches.

from typing import TYPE_CHECKING, Any

import torch

from modelyard.layers.heads import MultipleChoiceHead, QuestionAnsweringHead, TaskHead
from modelyard.layers.returns import OutputSwitches, Unpack, check_switches

# The inputs that carry a choice axis, with their trailing dimensions: (batch, choices, seq[, hidden]).
CHOICE_INPUTS = {"input_ids": 1, "attention_mask": 1, "token_type_ids": 1, "position_ids": 1, "inputs_embeds": 2}


class TokenInputsHead(TaskHead):
    """Base of the generic heads: how they run the family's base model."""

    if TYPE_CHECKING:  # the family's PreTrainedModel, later in the MRO, gives it
        @property
        def base_model(self) -> Any: ...

    def encode(self, **inputs: Any) -> Any:
        """The base model's output object for ``inputs`` (keywords of its ``forward``)."""
        return self.base_model(**inputs, return_dict=True)

    def task_forward(self, labels: torch.Tensor | None, **inputs: Any) -> Any:
        """The end of a labelled head's forward: the base model on ``inputs`` (the forward's inputs and output
        switches, by keyword), then ``head_forward``, which answers ``return_dict``."""
        return_dict = inputs.pop("return_dict", None)
        return self.head_forward(self.encode(**inputs), labels, return_dict)


class GenericForMultipleChoice(TokenInputsHead, MultipleChoiceHead):
    """One score per choice: the inputs named in :data:`CHOICE_INPUTS` are (batch, num_choices, ...) and are
    folded into the batch for the base model; ``labels``: (batch,) index of the right choice."""

    def task_forward(self, labels: torch.Tensor | None, **inputs: Any) -> Any:
        return_dict = inputs.pop("return_dict", None)
        given = inputs["input_ids"] if inputs.get("input_ids") is not None else inputs.get("inputs_embeds")
        if given is None:
            raise ValueError(f"{type(self).__name__} needs input_ids or inputs_embeds (batch, num_choices, ...).")
        folded = {
            name: self.flatten_choices(value, CHOICE_INPUTS[name]) if name in CHOICE_INPUTS else value
            for name, value in inputs.items()
        }
        return self.head_forward(self.encode(**folded), labels, return_dict, num_choices=given.shape[1])


class GenericForQuestionAnswering(TokenInputsHead, QuestionAnsweringHead):
    """Answer spans: start and end logits (batch, seq) from ``qa_outputs`` (the family's linear layer, built in its
    ``__init__``) on the last hidden states; ``start_positions`` / ``end_positions``: (batch,) token indices,
    positions past the end ignored."""

    qa_outputs: torch.nn.Module

    def head_logits(self, encoded: Any) -> torch.Tensor:
        return self.qa_outputs(encoded.last_hidden_state)  # (batch, seq, 2)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        head_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> Any:
        check_switches(self, kwargs)  # GPT-2's base model lets unknown keywords pass
        return_dict = kwargs.pop("return_dict", None)
        encoded = self.encode(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
            position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds, **kwargs,
        )
        return self.head_forward(encoded, start_positions, end_positions, return_dict)


__all__ = ["CHOICE_INPUTS", "GenericForMultipleChoice", "GenericForQuestionAnswering", "TokenInputsHead"]
