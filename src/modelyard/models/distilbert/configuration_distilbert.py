"""``DistilBertConfig``: the settings a DistilBERT model is built from (keys and defaults as in ``config.json``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any, ClassVar

from modelyard.configuration import PretrainedConfig
from modelyard.pretrained_io import constructor_arguments


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
    _own_settings_first = True
    # the settings, stored by PretrainedConfig from the keywords below (declared for type checkers)
    vocab_size: int
    max_position_embeddings: int
    sinusoidal_pos_embds: bool
    n_layers: int
    n_heads: int
    dim: int
    hidden_dim: int
    dropout: float
    attention_dropout: float
    activation: str
    initializer_range: float
    qa_dropout: float
    seq_classif_dropout: float

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
        super().__init__(**constructor_arguments())


__all__ = ["DistilBertConfig"]
