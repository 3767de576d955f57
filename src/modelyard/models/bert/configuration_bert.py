"""``BertConfig``: the settings a BERT model is built from (keys and defaults as in ``config.json`` files).

Imports no torch.
"""

from __future__ import annotations

from typing import Any

from modelyard.configuration import PretrainedConfig
from modelyard.pretrained_io import constructor_arguments


class _BertStyleConfig(PretrainedConfig):
    """The settings BERT's encoder and the families built on it (RoBERTa) hold, declared once for type checkers.

    Each family keeps its own class (a ``RobertaConfig`` is no ``BertConfig``) and its explicit ``__init__``
    keywords; the keywords are stored as these attributes by ``PretrainedConfig``.
    """

    vocab_size: int
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    intermediate_size: int
    hidden_act: str
    hidden_dropout_prob: float
    attention_probs_dropout_prob: float
    max_position_embeddings: int
    type_vocab_size: int
    initializer_range: float
    layer_norm_eps: float
    position_embedding_type: str
    use_cache: bool
    classifier_dropout: float | None


class BertConfig(_BertStyleConfig):
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
        super().__init__(**constructor_arguments())


__all__ = ["BertConfig"]
