"""What a type checker sees of the model output switches: ``output_attentions``, ``output_hidden_states`` and
``return_dict`` are declared once (``modelyard.layers.returns.OutputSwitches``) and every forward takes them as
``**kwargs: Unpack[OutputSwitches]``. Checked by mypy in ``make lint`` and by ``tests/test_typing.py``; never run.

Each call below that mypy must refuse carries ``# type: ignore[<code>]``: with ``warn_unused_ignores`` an ignore
that silences nothing is itself an error, so these lines claim that the misspelt or mistyped switch is refused.
"""

from __future__ import annotations

import torch

from modelyard import (
    BertForSequenceClassification,
    BertLMHeadModel,
    BertModel,
    DistilBertModel,
    GPT2LMHeadModel,
    LlamaForCausalLM,
    ViTModel,
    Wav2Vec2ForCTC,
)

ids = torch.ones(1, 4, dtype=torch.long)


def switches_are_typed(bert: BertModel, head: BertForSequenceClassification, lm: BertLMHeadModel,
                       distilbert: DistilBertModel, gpt2: GPT2LMHeadModel, llama: LlamaForCausalLM, vit: ViTModel,
                       ctc: Wav2Vec2ForCTC) -> None:
    # the group's names, by keyword, with their types
    bert.forward(ids, output_attentions=True, output_hidden_states=False, return_dict=None)
    head.forward(ids, labels=ids[:, 0], output_hidden_states=True)
    lm.forward(ids, labels=ids, return_dict=False, num_items_in_batch=4)  # a causal LM's loss options join them
    gpt2.forward(ids, output_attentions=True, logits_to_keep=1)
    llama.forward(ids, output_hidden_states=True)
    vit.forward(torch.zeros(1, 3, 8, 8), interpolate_pos_encoding=True, return_dict=True)
    ctc.forward(torch.zeros(1, 160), labels=ids, output_attentions=False)

    # a misspelt switch is refused, for the base models and the heads alike
    bert.forward(ids, output_hidden_state=True)  # type: ignore[call-arg]
    head.forward(ids, return_dicts=False)  # type: ignore[call-arg]
    distilbert.forward(ids, output_attention=True)  # type: ignore[call-arg]
    gpt2.forward(ids, output_hidden_state=True)  # type: ignore[call-arg]
    llama.forward(ids, retrun_dict=True)  # type: ignore[call-arg]
    vit.forward(torch.zeros(1, 3, 8, 8), output_hidden_state=True)  # type: ignore[call-arg]
    ctc.forward(torch.zeros(1, 160), output_attention=True)  # type: ignore[call-arg]
    # and so is a value of the wrong type
    bert.forward(ids, return_dict="yes")  # type: ignore[arg-type]
