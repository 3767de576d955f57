"""``BertConfig``: the settings a BERT model is built from (keys and defaults as in ``config.json`` files).

Imports no torch.
"""

from __future__ import annotations

from typing import Any

from modelyard.configuration import PretrainedConfig


class BertConfig(PretrainedConfig):
    """Configuration of :class:`~modelyard.models.bert.BertModel` and its heads.

    The defaults describe ``google-bert/bert-base-uncased``: 12 layers of width 768 with 12 heads.
    ``classifier_dropout`` (None: use ``hidden_dropout_prob``) applies to the classification heads.
    ``position_embedding_type``: ``"absolute"`` (a learned table added to the input), ``"relative_key"`` or
    ``"relative_key_query"`` (learned distance embeddings scored in attention). ``is_decoder=True`` makes the
    model a causal decoder (``use_cache`` then keeps a key/value cache); ``add_cross_attention=True`` adds
    attention over an encoder's states to each layer of such a decoder.
    """

    model_type = "bert"

    def __init__(
        self,
        vocab_size: int = 30522,
        hidden_size: int = 768,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        intermediate_size: int = 3072,
        hidden_act: str = "gelu",
        hidden_dropout_prob: float = 0.1,
        attention_probs_dropout_prob: float = 0.1,
        max_position_embeddings: int = 512,
        type_vocab_size: int = 2,
        initializer_range: float = 0.02,
        layer_norm_eps: float = 1e-12,
        pad_token_id: int | None = 0,
        position_embedding_type: str = "absolute",
        use_cache: bool = True,
        classifier_dropout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.hidden_act = hidden_act
        self.intermediate_size = intermediate_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.type_vocab_size = type_vocab_size
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.position_embedding_type = position_embedding_type
        self.use_cache = use_cache
        self.classifier_dropout = classifier_dropout


__all__ = ["BertConfig"]
