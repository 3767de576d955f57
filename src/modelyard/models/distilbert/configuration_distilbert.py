"""``DistilBertConfig``: the settings a DistilBERT model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelyard.configuration import PretrainedConfig


class DistilBertConfig(PretrainedConfig):
    """Configuration of :class:`~modelyard.models.distilbert.DistilBertModel` and its heads.

    The defaults describe ``distilbert/distilbert-base-uncased``: 6 layers of width 768 with 12 heads. The
    common names ``hidden_size``, ``num_attention_heads`` and ``num_hidden_layers`` are aliases of
    ``dim``, ``n_heads`` and ``n_layers``.
    """

    model_type = "distilbert"
    attribute_map: ClassVar[dict[str, str]] = {
        "hidden_size": "dim",
        "num_attention_heads": "n_heads",
        "num_hidden_layers": "n_layers",
    }

    def __init__(
        self,
        vocab_size: int = 30522,
        max_position_embeddings: int = 512,
        sinusoidal_pos_embds: bool = False,
        n_layers: int = 6,
        n_heads: int = 12,
        dim: int = 768,
        hidden_dim: int = 4 * 768,
        dropout: float = 0.1,
        attention_dropout: float = 0.1,
        activation: str = "gelu",
        initializer_range: float = 0.02,
        qa_dropout: float = 0.1,
        seq_classif_dropout: float = 0.2,
        pad_token_id: int | None = 0,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.sinusoidal_pos_embds = sinusoidal_pos_embds
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.dim = dim
        self.hidden_dim = hidden_dim
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.activation = activation
        self.initializer_range = initializer_range
        self.qa_dropout = qa_dropout
        self.seq_classif_dropout = seq_classif_dropout
        super().__init__(pad_token_id=pad_token_id, **kwargs)


__all__ = ["DistilBertConfig"]
