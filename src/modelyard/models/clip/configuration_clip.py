"""CLIP's settings: ``CLIPTextConfig`` (the text encoder), ``CLIPVisionConfig`` (the image encoder) and ``CLIPConfig``
nesting both (keys and defaults as in ``openai/clip-vit-base-patch32``).

modelyard ships CLIP's configurations and image processor (used by CLIP and by the many vision-language models
built on its image encoder); the CLIP models themselves are not part of modelyard yet.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from modelyard.configuration import PretrainedConfig
from modelyard.errors import ConfigurationError

logger = logging.getLogger(__name__)


class CLIPTextConfig(PretrainedConfig):
    """The text encoder: a causal transformer over CLIP's byte-level BPE vocabulary (77 positions)."""

    model_type = "clip_text_model"
    base_config_key: ClassVar[str] = "text_config"

    def __init__(
        self,
        vocab_size: int = 49408,
        hidden_size: int = 512,
        intermediate_size: int = 2048,
        projection_dim: int = 512,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 8,
        max_position_embeddings: int = 77,
        hidden_act: str = "quick_gelu",
        layer_norm_eps: float = 1e-5,
        attention_dropout: float = 0.0,
        initializer_range: float = 0.02,
        initializer_factor: float = 1.0,
        pad_token_id: int | None = 1,
        bos_token_id: int | None = 49406,
        eos_token_id: int | None = 49407,
        **kwargs: Any,
    ) -> None:
        super().__init__(pad_token_id=pad_token_id, bos_token_id=bos_token_id, eos_token_id=eos_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.max_position_embeddings = max_position_embeddings
        self.layer_norm_eps = layer_norm_eps
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.initializer_factor = initializer_factor
        self.attention_dropout = attention_dropout


class CLIPVisionConfig(PretrainedConfig):
    """The image encoder: a ViT over ``patch_size`` patches of ``image_size`` images."""

    model_type = "clip_vision_model"
    base_config_key: ClassVar[str] = "vision_config"

    def __init__(
        self,
        hidden_size: int = 768,
        intermediate_size: int = 3072,
        projection_dim: int = 512,
        num_hidden_layers: int = 12,
        num_attention_heads: int = 12,
        num_channels: int = 3,
        image_size: int = 224,
        patch_size: int = 32,
        hidden_act: str = "quick_gelu",
        layer_norm_eps: float = 1e-5,
        attention_dropout: float = 0.0,
        initializer_range: float = 0.02,
        initializer_factor: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.projection_dim = projection_dim
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_channels = num_channels
        self.patch_size = patch_size
        self.image_size = image_size
        self.initializer_range = initializer_range
        self.initializer_factor = initializer_factor
        self.attention_dropout = attention_dropout
        self.layer_norm_eps = layer_norm_eps
        self.hidden_act = hidden_act


def _sub_config(
    klass: type[PretrainedConfig], given: PretrainedConfig | dict[str, Any] | None, legacy: dict[str, Any] | None, name: str
) -> PretrainedConfig:
    """A nested config from a config object, a dict (as config.json holds it) or nothing (the defaults). Files from
    before ``text_config`` existed hold ``text_config_dict``: its values win, as in the reference."""
    if isinstance(given, klass) and not legacy:
        return given
    if isinstance(given, PretrainedConfig):
        given = given.to_dict()
    if given is not None and not isinstance(given, dict):
        raise ConfigurationError(f"CLIPConfig: {name} must be a {klass.__name__} or a dict of its settings, got {given!r}.")
    settings = {k: v for k, v in (given or {}).items() if k not in ("model_type", "modelyard_version", "transformers_version")}
    if legacy:
        overridden = sorted(k for k, v in legacy.items() if k in settings and settings[k] != v)
        if overridden:
            logger.info("CLIPConfig: %s_dict overrides %s values for %s.", name, name, overridden)
        settings.update(legacy)
    return klass(**settings)


class CLIPConfig(PretrainedConfig):
    """CLIP: ``text_config`` and ``vision_config`` (configs or dicts; defaults when omitted), both projected to
    ``projection_dim``, with the similarity's temperature starting at ``exp(logit_scale_init_value)``."""

    model_type = "clip"
    sub_configs: ClassVar[dict[str, type[PretrainedConfig]]] = {
        "text_config": CLIPTextConfig,
        "vision_config": CLIPVisionConfig,
    }

    def __init__(
        self,
        text_config: CLIPTextConfig | dict[str, Any] | None = None,
        vision_config: CLIPVisionConfig | dict[str, Any] | None = None,
        projection_dim: int = 512,
        logit_scale_init_value: float = 2.6592,
        **kwargs: Any,
    ) -> None:
        text_legacy = kwargs.pop("text_config_dict", None)
        vision_legacy = kwargs.pop("vision_config_dict", None)
        super().__init__(**kwargs)
        self.text_config = _sub_config(CLIPTextConfig, text_config, text_legacy, "text_config")
        self.vision_config = _sub_config(CLIPVisionConfig, vision_config, vision_legacy, "vision_config")
        self.projection_dim = projection_dim
        self.logit_scale_init_value = logit_scale_init_value
        self.initializer_factor = 1.0

    @classmethod
    def from_text_vision_configs(
        cls, text_config: CLIPTextConfig, vision_config: CLIPVisionConfig, **kwargs: Any
    ) -> CLIPConfig:
        """A CLIPConfig nesting these two configurations (the reference's constructor of that name)."""
        return cls(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), **kwargs)


__all__ = ["CLIPConfig", "CLIPTextConfig", "CLIPVisionConfig"]
