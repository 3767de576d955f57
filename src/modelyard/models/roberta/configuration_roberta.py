"""``RobertaConfig``: the settings a RoBERTa model is built from (keys and defaults as in ``FacebookAI/roberta-base``).

Imports no torch.
"""

from __future__ import annotations

from typing import Any

from modelyard.models.bert.configuration_bert import _BertStyleConfig
from modelyard.pretrained_io import constructor_arguments


class RobertaConfig(_BertStyleConfig):
    """Configuration of :class:`~modelyard.models.roberta.RobertaModel` and its heads.

    RoBERTa is BERT's encoder trained differently, with a byte-level BPE vocabulary (50265 tokens) and positions
    counted from ``pad_token_id + 1`` (padding keeps position ``pad_token_id``), so ``max_position_embeddings``
    is 514 for 512 tokens. The other settings mean what they mean in :class:`~modelyard.BertConfig`.
    """

    model_type = "roberta"

    def __init__(
        self,
        vocab_size: int = 50265,
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
        pad_token_id: int | None = 1,
        bos_token_id: int | None = 0,
        eos_token_id: int | None = 2,
        position_embedding_type: str = "absolute",
        use_cache: bool = True,
        classifier_dropout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**constructor_arguments())


__all__ = ["RobertaConfig"]
