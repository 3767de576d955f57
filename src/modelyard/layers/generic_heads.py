"""The forward of the task heads, written once: the base model on the inputs, then the generic head.

:mod:`modelyard.layers.heads` gives a task head its loss and its output object; the classes here add the step
before, running the family's base model, and the ``forward`` that several families share:

- :class:`TokenInputsHead` runs the base model (:meth:`~TokenInputsHead.encode`: ``self.base_model`` on the
  inputs, by keyword; a family whose base model needs more there overrides it) and, for the heads scored against
  ``labels``, :meth:`~TokenInputsHead.task_forward` ends a family's labelled forward: the family writes its
  signature once, in its private head base, and every labelled head inherits it.
- :class:`GenericForMultipleChoice` folds the choices into the batch in :meth:`task_forward`, so the multiple
  choice head takes the family's labelled forward as it is.
- :class:`GenericForQuestionAnswering` is the whole question-answering forward for the families whose base model
  takes BERT's token inputs (``input_ids``, ``attention_mask``, ``token_type_ids``, ``position_ids``,
  ``head_mask``, ``inputs_embeds``): BERT, RoBERTa and GPT-2.

The family's task class puts the generic head first in its bases and keeps what differs in its own file, under the
checkpoint's key names::

    class BertForQuestionAnswering(GenericForQuestionAnswering, BertPreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            self.bert = BertModel(config, add_pooling_layer=False)
            self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
            self.post_init()

        def head_logits(self, encoded):
            return self.qa_outputs(encoded.last_hidden_state)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from modelyard.layers.heads import MultipleChoiceHead, QuestionAnsweringHead, TaskHead

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

    def task_forward(self, labels: torch.Tensor | None, return_dict: bool | None, **inputs: Any) -> Any:
        """The end of a labelled head's forward: the base model on ``inputs``, then ``head_forward``."""
        return self.head_forward(self.encode(**inputs), labels, return_dict)


class GenericForMultipleChoice(TokenInputsHead, MultipleChoiceHead):
    """One score per choice: the inputs named in :data:`CHOICE_INPUTS` are (batch, num_choices, ...) and are
    folded into the batch for the base model; ``labels``: (batch,) index of the right choice."""

    def task_forward(self, labels: torch.Tensor | None, return_dict: bool | None, **inputs: Any) -> Any:
        given = inputs["input_ids"] if inputs.get("input_ids") is not None else inputs.get("inputs_embeds")
        if given is None:
            raise ValueError(f"{type(self).__name__} needs input_ids or inputs_embeds (batch, num_choices, ...).")
        folded = {
            name: self.flatten_choices(value, CHOICE_INPUTS[name]) if name in CHOICE_INPUTS else value
            for name, value in inputs.items()
        }
        return self.head_forward(self.encode(**folded), labels, return_dict, num_choices=given.shape[1])


class GenericForQuestionAnswering(TokenInputsHead, QuestionAnsweringHead):
    """Answer spans: start and end logits (batch, seq); ``start_positions`` / ``end_positions``: (batch,) token
    indices, positions past the end ignored."""

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
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> Any:
        encoded = self.encode(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
            position_ids=position_ids, head_mask=head_mask, inputs_embeds=inputs_embeds,
            output_attentions=output_attentions, output_hidden_states=output_hidden_states,
        )
        return self.head_forward(encoded, start_positions, end_positions, return_dict)


__all__ = ["CHOICE_INPUTS", "GenericForMultipleChoice", "GenericForQuestionAnswering", "TokenInputsHead"]
