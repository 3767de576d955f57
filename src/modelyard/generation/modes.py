"""Which decoding mode ``generate()`` runs, and the checks and set-up each mode needs beyond the common ones.

The modes and how settings select them are the reference's (``GenerationConfig.get_generation_mode``). Since
4.56/4.57 the reference no longer runs contrastive search, group beam search, constrained beam search and DoLa
itself: it loads them from Hub ``custom_generate`` repositories (``transformers-community/...``), and only
with ``trust_remote_code=True``. modelyard runs the ones it has built in and downloads nothing, but asks for
the same opt-in (``trust_remote_code=True``, or ``custom_generate=`` naming that repository), so a call that
works with the reference works here and one the reference refuses is refused with the same message.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from modelyard.errors import ConfigurationError, TrustRemoteCodeError
from modelyard.generation.assisted import (
    AssistedCandidateGenerator,
    CandidateGenerator,
    PromptLookupCandidateGenerator,
    check_assistant,
)
from modelyard.generation.caches import DynamicCache, StaticCache
from modelyard.generation.configuration_utils import HUB_MODES, GenerationConfig, GenerationMode
from modelyard.generation.logits_process import LogitsProcessorList

logger = logging.getLogger(__name__)

_WARNED_MOVED: set[str] = set()


def _title(mode: str) -> str:
    return mode.replace("_", " ").title()


def check_mode(model: Any, mode: str, config: GenerationConfig, *, custom_generate: Any, trust_remote_code: Any,
               assistant_model: Any, assistant_tokenizer: Any, streamer: Any) -> None:
    """Refuse what the selected mode cannot run, with the reason and the fix."""
    if mode == GenerationMode.DOLA_GENERATION:
        raise ConfigurationError(
            f"generate(): dola_layers={config.dola_layers!r} selects DoLa decoding, which modelyard does not run (the "
            f"reference loads it from https://hf.co/{HUB_MODES[mode]}); leave dola_layers unset.")
    if custom_generate is not None:
        if not isinstance(custom_generate, str):
            raise ConfigurationError(
                "generate(): a custom_generate function is not supported by modelyard; call your decoding function "
                "with the model directly.")
        wanted = next((m for m, repo in HUB_MODES.items() if repo == custom_generate), None)
        if wanted is None or wanted == GenerationMode.DOLA_GENERATION:
            built_in = sorted(repo for m, repo in HUB_MODES.items() if m != GenerationMode.DOLA_GENERATION)
            raise ConfigurationError(
                f"generate(): modelyard does not load generation code from repositories (custom_generate="
                f"{custom_generate!r}). The reference's moved modes it runs built in: {', '.join(built_in)}.")
        if wanted != mode:
            raise ConfigurationError(
                f"generate(): custom_generate={custom_generate!r} runs {_title(wanted).lower()}, but the settings "
                f"select {mode.replace('_', ' ')}; set the mode's settings (see GenerationConfig.get_generation_mode).")
    elif mode in HUB_MODES:
        repo = HUB_MODES[mode]
        if mode not in _WARNED_MOVED:
            _WARNED_MOVED.add(mode)
            logger.warning("%s was moved to a `custom_generate` repo in the reference: https://hf.co/%s; modelyard "
                           "runs it built in. Code for both libraries passes `custom_generate='%s'`.",
                           _title(mode), repo, repo)
        if not trust_remote_code:
            raise TrustRemoteCodeError(
                f"{_title(mode)} requires `trust_remote_code=True` in your `generate` call, since it loads "
                f"https://hf.co/{repo}. (That is the reference's rule; modelyard runs it built in and downloads "
                f"nothing, but asks for the same opt-in: pass trust_remote_code=True or custom_generate='{repo}'.)")

    alpha = config.penalty_alpha
    if alpha is not None and alpha > 0 and config.num_beams == 1 and not config.do_sample and (
            config.top_k is None or config.top_k <= 1):
        raise ConfigurationError(
            f"penalty_alpha={alpha} asks for contrastive search, which picks among the top_k candidates, but "
            f"top_k={config.top_k}. Set top_k to 2 or more (4 is common), or unset penalty_alpha for greedy decoding.")
    if mode == GenerationMode.GROUP_BEAM_SEARCH and not config.diversity_penalty:
        raise ConfigurationError(
            f"Group beam search (num_beam_groups={config.num_beam_groups}) needs diversity_penalty > 0, otherwise "
            "every group finds the same beams (the reference refuses it too); set e.g. diversity_penalty=1.0.")
    if mode == GenerationMode.CONSTRAINED_BEAM_SEARCH and config.num_beams < 2:
        raise ConfigurationError(
            f"Constrained beam search (constraints / force_words_ids) needs num_beams > 1, got num_beams="
            f"{config.num_beams}; set e.g. num_beams=4.")
    if streamer is not None and mode == GenerationMode.GROUP_BEAM_SEARCH:
        raise ConfigurationError("A streamer follows one sequence: it cannot be used with group beam search. Drop the "
                                 "streamer or use num_beams=1.")
    if mode == GenerationMode.CONTRASTIVE_SEARCH and not config.use_cache:
        raise ConfigurationError("Contrastive search reads the cached hidden states of each candidate: it needs "
                                 "use_cache=True.")
    if mode != GenerationMode.ASSISTED_GENERATION:
        return
    if config.num_return_sequences > 1:
        raise ConfigurationError(
            f"Assisted decoding returns one sequence per prompt, but num_return_sequences={config.num_return_sequences}; "
            "set it to 1 (or drop the assistant).")
    if not config.use_cache:
        raise ConfigurationError("Assisted decoding checks drafts against the cached prefix: it needs use_cache=True.")
    if getattr(getattr(model, "config", None), "is_encoder_decoder", False):
        raise ConfigurationError("Assisted decoding in modelyard runs decoder-only models.")
    if assistant_model is not None and config.prompt_lookup_num_tokens is None:
        check_assistant(model, assistant_model, assistant_tokenizer)
        main_tokens = config.num_assistant_tokens
        own_tokens = assistant_model.generation_config.num_assistant_tokens
        if main_tokens != own_tokens and main_tokens != 20:
            logger.warning("num_assistant_tokens=%s was given to generate(), but the draft length comes from "
                           "assistant_model.generation_config.num_assistant_tokens (%s), as in the reference; set it "
                           "there.", main_tokens, own_tokens)


def prepare_rollback_cache(model: Any, config: GenerationConfig, model_kwargs: dict[str, Any]) -> None:
    """Modes that crop the cache back need a dynamic one without sliding-window layers (as the reference gives
    them): a static cache asked for by name is replaced (with a warning, as the reference does), one passed in
    is refused, and modelyard's own models get a plain ``DynamicCache`` rather than building one from their
    config."""
    past = model_kwargs.get("past_key_values")
    if isinstance(past, StaticCache):
        raise ConfigurationError("Assisted decoding and contrastive search crop the cache back, which a StaticCache "
                                 "cannot do; pass a DynamicCache (or no cache).")
    if config.cache_implementation == "static":
        logger.warning("Assisted decoding / contrastive search use a dynamic cache instead of a cache of "
                       "type='static'.")
        config.cache_implementation = None
    takes_cache = getattr(type(model), "_supports_cache_class", False) or type(model).__module__.startswith(
        "modelyard.")
    if past is None and config.use_cache and config.cache_implementation is None and takes_cache:
        model_kwargs["past_key_values"] = DynamicCache()


def candidate_generator(model: Any, config: GenerationConfig, model_kwargs: dict[str, Any],
                        processors: LogitsProcessorList, assistant_model: Any,
                        eos: torch.Tensor | None) -> CandidateGenerator:
    """The drafter of assisted decoding: prompt lookup when ``prompt_lookup_num_tokens`` is set (it takes
    precedence, as in the reference), else the assistant model."""
    if config.prompt_lookup_num_tokens is not None:
        text_config = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
        return PromptLookupCandidateGenerator(
            eos_token_id=eos, num_output_tokens=config.prompt_lookup_num_tokens,
            max_matching_ngram_size=config.max_matching_ngram_size or 2, max_length=config.max_length,
            logits_processor=processors, vocab_size=text_config.vocab_size)
    return AssistedCandidateGenerator(assistant_model, config, model_kwargs, processors)


__all__ = ["candidate_generator", "check_mode", "prepare_rollback_cache"]
