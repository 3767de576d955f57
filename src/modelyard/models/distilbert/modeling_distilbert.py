"""DistilBERT: a 6-layer distilled BERT without token types or pooler.

Reads top to bottom: embeddings, attention, feed-forward, block, transformer, the base model, then the
task heads. Submodule names equal the checkpoint keys of Hugging Face DistilBERT checkpoints
(``distilbert.transformer.layer.0.attention.q_lin.weight``, ``vocab_projector.bias``, ...).
"""

# No ``from __future__ import annotations``: the forwards' ``**kwargs: Unpack[...]`` annotations stay live objects,
# which is how tools that read a signature (the Trainer, the reference's tests) see the output switches.

import logging
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from modelyard.errors import ConfigurationError
from modelyard.layers import generic_heads, heads
from modelyard.layers.activations import get_activation
from modelyard.layers.attention import attention_head_size, padding_mask_to_additive, self_attention
from modelyard.layers.embeddings import absolute_positions, check_one_input
from modelyard.layers.init import init_normal_
from modelyard.layers.pruning import heads_to_keep_index, prune_linear
from modelyard.layers.returns import OutputSwitches, Unpack, base_switches, finish_output
from modelyard.layers.stack import LayerStack
from modelyard.modeling import PreTrainedModel
from modelyard.models.distilbert.configuration_distilbert import DistilBertConfig
from modelyard.outputs import BaseModelOutput

Tensor = torch.Tensor
logger = logging.getLogger(__name__)


def sinusoidal_table(n_positions: int, dim: int) -> Tensor:
    """(n_positions, dim) fixed position encodings: sin on even columns, cos on odd ones (float64 math)."""
    positions = torch.arange(n_positions, dtype=torch.float64)[:, None]
    exponents = 2 * (torch.arange(dim, dtype=torch.float64) // 2) / dim
    angles = positions / torch.pow(torch.tensor(10000.0, dtype=torch.float64), exponents)  # (n_positions, dim)
    table = torch.empty(n_positions, dim, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angles[:, 0::2])
    table[:, 1::2] = torch.cos(angles[:, 1::2])
    return table.float()


def _create_sinusoidal_embeddings(n_pos: int, dim: int, out: Tensor) -> None:
    """Fill ``out`` (``(n_pos, dim)``) with the fixed sinusoidal position table and freeze it: the reference's
    helper, under its name, for code that builds DistilBERT position tables itself."""
    with torch.no_grad():
        out.copy_(sinusoidal_table(n_pos, dim).to(out.dtype))
    out.requires_grad_(False)


class Embeddings(nn.Module):
    """Word plus position embeddings, then LayerNorm and dropout (no token types)."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.dim, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.dim)
        if config.sinusoidal_pos_embds:  # a fixed table, never trained; _init_weights fills it
            self.position_embeddings.weight.requires_grad_(False)
            self.position_embeddings.is_sinusoidal = True  # type: ignore[assignment]  # torch types a module's attributes Tensor | Module
        self.LayerNorm = nn.LayerNorm(config.dim, eps=1e-12)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: Tensor | None, inputs_embeds: Tensor | None = None) -> Tensor:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # (batch, seq, dim)
        # Positions are always 0..seq-1.
        embeddings = inputs_embeds + absolute_positions(self.position_embeddings, inputs_embeds.shape[1])
        return self.dropout(self.LayerNorm(embeddings))


class MultiHeadSelfAttention(nn.Module):
    """q/k/v/out projections; the attention itself runs on SDPA through ``layers.attention.attend``."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.config = config  # read at call time: attn_implementation can change after loading
        self.n_heads = config.n_heads
        self.attention_head_size = attention_head_size(config.dim, config.n_heads, names=("dim", "n_heads"))
        self.dropout_prob = config.attention_dropout
        self.q_lin = nn.Linear(config.dim, config.dim)
        self.k_lin = nn.Linear(config.dim, config.dim)
        self.v_lin = nn.Linear(config.dim, config.dim)
        self.out_lin = nn.Linear(config.dim, config.dim)
        self.pruned_heads: set[int] = set()

    def prune_heads(self, heads: list[int]) -> None:
        """Remove heads (numbered as in the unpruned layer) from the projections."""
        heads_set, index = heads_to_keep_index(heads, self.n_heads, self.attention_head_size, self.pruned_heads)
        if not heads_set:
            return
        self.q_lin = prune_linear(self.q_lin, index)
        self.k_lin = prune_linear(self.k_lin, index)
        self.v_lin = prune_linear(self.v_lin, index)
        self.out_lin = prune_linear(self.out_lin, index, dim=1)
        self.n_heads -= len(heads_set)
        self.pruned_heads |= heads_set

    def forward(
        self, x: Tensor, additive_mask: Tensor | None, head_mask: Tensor | None, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        projections = (self.q_lin, self.k_lin, self.v_lin)
        context, probs = self_attention(self, x, projections, self.n_heads, self.dropout_prob,
                                        additive_mask, head_mask, output_attentions)
        return self.out_lin(context), probs  # (batch, seq, dim)


class FFN(nn.Module):
    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.lin1 = nn.Linear(config.dim, config.hidden_dim)
        self.lin2 = nn.Linear(config.hidden_dim, config.dim)
        self.activation = get_activation(config.activation)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.lin2(self.activation(self.lin1(x))))


class TransformerBlock(nn.Module):
    """Self-attention and feed-forward, each followed by residual + LayerNorm."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__()
        self.attention = MultiHeadSelfAttention(config)
        self.sa_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.ffn = FFN(config)
        self.output_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)

    def forward(
        self, x: Tensor, additive_mask: Tensor | None, head_mask: Tensor | None, output_attentions: bool
    ) -> tuple[Tensor, Tensor | None]:
        attended, probs = self.attention(x, additive_mask, head_mask, output_attentions)
        attended = self.sa_layer_norm(attended + x)
        return self.output_layer_norm(self.ffn(attended) + attended), probs


class Transformer(LayerStack):
    def __init__(self, config: DistilBertConfig) -> None:
        layers = (TransformerBlock(config) for _ in range(config.n_layers))
        super().__init__(layers, name="layer", layers_take_head_mask=True)


class DistilBertPreTrainedModel(PreTrainedModel):
    """Weight initialisation and loading rules shared by every DistilBERT class."""

    _inplace_activations = ("activation",)  # optimize_for_inference(): their input is always a temporary
    _supports_sdpa = True

    config_class = DistilBertConfig
    base_model_prefix = "distilbert"
    supports_gradient_checkpointing = True
    _computed_checkpoint_keys = [r"position_ids$"]

    def _init_weights(self, module: nn.Module) -> None:
        if getattr(module, "is_sinusoidal", False):  # the fixed position table
            with torch.no_grad():
                module.weight.copy_(sinusoidal_table(*module.weight.shape))  # type: ignore[operator,misc]  # torch types a module's attributes Tensor | Module
            return
        init_normal_(module, self.config.initializer_range)


class DistilBertModel(DistilBertPreTrainedModel):
    """The bare DistilBERT encoder: hidden states of every token."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.embeddings = Embeddings(config)
        self.transformer = Transformer(config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.embeddings.word_embeddings = value  # type: ignore[assignment]  # any embedding module may replace it

    def get_position_embeddings(self) -> nn.Embedding:
        return self.embeddings.position_embeddings

    def resize_position_embeddings(self, new_num_position_embeddings: int) -> None:
        """Grow or shrink the position table to ``new_num_position_embeddings`` rows and record it in
        ``config.max_position_embeddings``. A sinusoidal table is recomputed for the new length; a learned one
        keeps its first rows, and rows added at the end are newly initialised."""
        if new_num_position_embeddings <= 0:
            raise ValueError(f"new_num_position_embeddings must be positive, got {new_num_position_embeddings}.")
        old = self.embeddings.position_embeddings
        if new_num_position_embeddings == old.num_embeddings:
            return
        logger.info("Setting config.max_position_embeddings=%d", new_num_position_embeddings)
        self.config.max_position_embeddings = new_num_position_embeddings
        new = nn.Embedding(new_num_position_embeddings, old.embedding_dim, device=old.weight.device,
                           dtype=old.weight.dtype)
        if self.config.sinusoidal_pos_embds:
            new.weight.requires_grad_(False)
            new.is_sinusoidal = True  # type: ignore[assignment]  # torch types a module's attributes Tensor | Module
            self._init_weights(new)
        else:
            self._init_weights(new)
            keep = min(new_num_position_embeddings, old.num_embeddings)
            with torch.no_grad():
                new.weight[:keep] = old.weight[:keep]
        self.embeddings.position_embeddings = new

    def _prune_heads(self, heads_to_prune: dict[int, list[int]]) -> None:
        for layer, pruned in heads_to_prune.items():
            self.transformer.layer[layer].attention.prune_heads(pruned)  # type: ignore[index,union-attr]  # set by name

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> BaseModelOutput | tuple[Tensor, ...]:
        output_attentions, output_hidden_states = base_switches(self, kwargs)
        check_one_input(input_ids, inputs_embeds, model="DistilBertModel")
        embeddings = self.embeddings(input_ids, inputs_embeds)  # (batch, seq, dim)
        # Built once per forward and shared by every layer.
        additive_mask = padding_mask_to_additive(attention_mask, embeddings.dtype)
        result = self.transformer(embeddings, additive_mask, head_mask=head_mask,
                                  output_attentions=bool(output_attentions), output_hidden_states=bool(output_hidden_states))
        return finish_output(result, kwargs.get("return_dict"), self.config)


class _DistilBertHead(generic_heads.TokenInputsHead, DistilBertPreTrainedModel):
    """The labelled task heads' forward: ``self.distilbert`` on DistilBERT's inputs, the head's ``head_logits``,
    then the generic head (``layers.heads``) adds the loss from ``labels`` and builds the output."""

    distilbert: DistilBertModel

    def get_position_embeddings(self) -> nn.Embedding:
        return self.distilbert.get_position_embeddings()

    def resize_position_embeddings(self, new_num_position_embeddings: int) -> None:
        """See :meth:`DistilBertModel.resize_position_embeddings`."""
        self.distilbert.resize_position_embeddings(new_num_position_embeddings)

    def forward(
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        labels: Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> Any:
        return self.task_forward(
            labels, input_ids=input_ids, attention_mask=attention_mask, head_mask=head_mask,
            inputs_embeds=inputs_embeds, **kwargs,
        )


class DistilBertForMaskedLM(heads.MaskedLMHead, _DistilBertHead):
    """DistilBERT with the masked-language-modelling head; the projection is tied to the word embeddings.
    ``labels``: (batch, seq) token ids to predict, -100 where no prediction is scored."""

    _tied_weights_keys = ["vocab_projector.weight"]

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.activation = get_activation(config.activation)
        self.distilbert = DistilBertModel(config)
        self.vocab_transform = nn.Linear(config.dim, config.dim)
        self.vocab_layer_norm = nn.LayerNorm(config.dim, eps=1e-12)
        self.vocab_projector = nn.Linear(config.dim, config.vocab_size)
        self.post_init()

    def get_output_embeddings(self) -> nn.Linear:
        return self.vocab_projector

    def set_output_embeddings(self, new_embeddings: nn.Linear) -> None:
        self.vocab_projector = new_embeddings

    def head_logits(self, encoded: BaseModelOutput) -> Tensor:
        hidden = self.vocab_layer_norm(self.activation(self.vocab_transform(encoded.last_hidden_state)))
        return self.vocab_projector(hidden)  # (batch, seq, vocab)


class DistilBertForSequenceClassification(heads.SequenceClassificationHead, _DistilBertHead):
    """DistilBERT with a two-layer classifier (or regressor) on the first token. ``labels``: (batch,) class
    ids, (batch, num_labels) floats for multi-label, or floats to regress (``config.problem_type``)."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.dropout = nn.Dropout(config.seq_classif_dropout)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutput) -> Tensor:
        pooled = F.relu(self.pre_classifier(encoded.last_hidden_state[:, 0]))  # type: ignore[index]  # (batch, dim); a base model's output always has it
        return self.classifier(self.dropout(pooled))  # (batch, num_labels)


class DistilBertForQuestionAnswering(heads.QuestionAnsweringHead, _DistilBertHead):
    """DistilBERT predicting the start and end token of an answer span. ``start_positions`` /
    ``end_positions``: (batch,) token indices; positions past the end are ignored."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        if config.num_labels != 2:
            raise ConfigurationError(
                f"DistilBertForQuestionAnswering needs num_labels=2 (start and end logits), got {config.num_labels}; "
                "remove num_labels/id2label from the config or set num_labels=2."
            )
        self.distilbert = DistilBertModel(config)
        self.qa_outputs = nn.Linear(config.dim, config.num_labels)
        self.dropout = nn.Dropout(config.qa_dropout)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutput) -> Tensor:
        return self.qa_outputs(self.dropout(encoded.last_hidden_state))  # (batch, seq, 2)

    def forward(  # start/end positions in place of labels, as the reference
        self,
        input_ids: Tensor | None = None,
        attention_mask: Tensor | None = None,
        head_mask: Tensor | None = None,
        inputs_embeds: Tensor | None = None,
        start_positions: Tensor | None = None,
        end_positions: Tensor | None = None,
        **kwargs: Unpack[OutputSwitches],
    ) -> Any:
        return_dict = kwargs.pop("return_dict", None)
        encoded = self.encode(input_ids=input_ids, attention_mask=attention_mask, head_mask=head_mask,
                              inputs_embeds=inputs_embeds, **kwargs)
        return self.head_forward(encoded, start_positions, end_positions, return_dict)


class DistilBertForTokenClassification(heads.TokenClassificationHead, _DistilBertHead):
    """DistilBERT with a linear classifier on every token (e.g. named entities). ``labels``: (batch, seq)
    class ids, -100 where no label is scored."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.distilbert = DistilBertModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.dim, config.num_labels)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutput) -> Tensor:
        return self.classifier(self.dropout(encoded.last_hidden_state))  # (batch, seq, num_labels)


class DistilBertForMultipleChoice(generic_heads.GenericForMultipleChoice, _DistilBertHead):
    """DistilBERT scoring each of several choices: inputs are (batch, num_choices, seq), logits
    (batch, num_choices); ``labels``: (batch,) index of the right choice."""

    def __init__(self, config: DistilBertConfig) -> None:
        super().__init__(config)
        self.distilbert = DistilBertModel(config)
        self.pre_classifier = nn.Linear(config.dim, config.dim)
        self.classifier = nn.Linear(config.dim, 1)
        self.dropout = nn.Dropout(config.seq_classif_dropout)
        self.post_init()

    def head_logits(self, encoded: BaseModelOutput) -> Tensor:
        pooled = F.relu(self.pre_classifier(encoded.last_hidden_state[:, 0]))  # type: ignore[index]  # (batch * choices, dim); a base model's output always has it
        return self.classifier(self.dropout(pooled))  # (batch * choices, 1)


__all__ = [
    "DistilBertForMaskedLM",
    "DistilBertForMultipleChoice",
    "DistilBertForQuestionAnswering",
    "DistilBertForSequenceClassification",
    "DistilBertForTokenClassification",
    "DistilBertModel",
    "DistilBertPreTrainedModel",
]
