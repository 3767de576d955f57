"""``GenerationConfig``: how ``generate()`` decodes, saved as ``generation_config.json``.

The settings, their defaults and the file format are the reference library's, so a ``generation_config.json``
written by either library loads in the other. Settings are checked when the config is built and again when
``generate()`` merges its keywords in: an impossible value (``top_p=1.5``, ``num_beams=0``) is an error naming
the value and the fix; a setting the chosen mode ignores (``temperature`` without ``do_sample=True``) is a
warning, as the reference gives; a misspelt setting (``max_new_token``) is an error naming the intended one.
This module never imports torch.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard._version import __version__
from modelyard.errors import ConfigurationError, MissingFileError
from modelyard.hub.files import FileSource
from modelyard.json_settings import JsonSettings
from modelyard.options import refuse_near_misses

logger = logging.getLogger(__name__)

GENERATION_CONFIG_NAME = "generation_config.json"

# Every setting with its default (the reference's, 4.57).
DEFAULTS: dict[str, Any] = {
    # length
    "max_length": 20,
    "max_new_tokens": None,
    "min_length": 0,
    "min_new_tokens": None,
    "early_stopping": False,
    "max_time": None,
    "stop_strings": None,
    # strategy
    "do_sample": False,
    "num_beams": 1,
    "num_beam_groups": 1,
    "penalty_alpha": None,
    "dola_layers": None,
    # cache
    "use_cache": True,
    "cache_implementation": None,
    "cache_config": None,
    "return_legacy_cache": None,
    "prefill_chunk_size": None,
    # logits manipulation
    "temperature": 1.0,
    "top_k": 50,
    "top_p": 1.0,
    "min_p": None,
    "typical_p": 1.0,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
    "diversity_penalty": 0.0,
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "length_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "force_words_ids": None,
    "renormalize_logits": False,
    "constraints": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "remove_invalid_values": False,
    "exponential_decay_length_penalty": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "sequence_bias": None,
    "token_healing": False,
    "guidance_scale": None,
    "low_memory": None,
    "watermarking_config": None,
    # outputs
    "num_return_sequences": 1,
    "output_attentions": False,
    "output_hidden_states": False,
    "output_scores": False,
    "output_logits": None,
    "return_dict_in_generate": False,
    # special tokens
    "pad_token_id": None,
    "bos_token_id": None,
    "eos_token_id": None,
    # encoder-decoder models
    "encoder_no_repeat_ngram_size": 0,
    "decoder_start_token_id": None,
    "is_assistant": False,
    # assisted generation
    "num_assistant_tokens": 20,
    "num_assistant_tokens_schedule": "constant",
    "assistant_confidence_threshold": 0.4,
    "prompt_lookup_num_tokens": None,
    "max_matching_ngram_size": None,
    "assistant_early_exit": None,
    "assistant_lookbehind": 10,
    "target_lookbehind": 10,
    # performance
    "disable_compile": False,
}

# Bookkeeping keys of the file, not settings.
METADATA_FIELDS = ("_from_model_config", "_commit_hash", "_original_object_hash", "transformers_version",
                   "modelyard_version")

# The outputs that only a dict result (return_dict_in_generate=True) carries.
EXTRA_OUTPUT_FLAGS = ("output_attentions", "output_hidden_states", "output_scores", "output_logits")

# Keywords of generate() itself that people put into a generation config by mistake.
GENERATE_ARGUMENTS = ("logits_processor", "stopping_criteria", "prefix_allowed_tokens_fn", "synced_gpus",
                      "assistant_model", "streamer", "negative_prompt_ids", "negative_prompt_attention_mask",
                      "use_model_defaults", "tokenizer")

# "dynamic_full": a dynamic cache without sliding-window layers (assisted decoding crops it back)
CACHE_IMPLEMENTATIONS = ("dynamic", "dynamic_full", "static")

# Settings that decoding strategies modelyard does not run would need; a non-default value is refused by
# generate() rather than silently ignored.
UNSUPPORTED = ("dola_layers", "watermarking_config", "assistant_early_exit", "token_healing", "prefill_chunk_size")

ASSISTANT_SCHEDULES = ("constant", "heuristic", "heuristic_transient")

_SAMPLING_FLAGS = (("temperature", 1.0), ("top_p", 1.0), ("min_p", None), ("typical_p", 1.0), ("top_k", 50),
                   ("epsilon_cutoff", 0.0), ("eta_cutoff", 0.0))


class GenerationMode:
    """The decoding strategies ``generate()`` runs (the reference's names)."""

    GREEDY_SEARCH = "greedy_search"
    SAMPLE = "sample"
    BEAM_SEARCH = "beam_search"
    BEAM_SAMPLE = "beam_sample"
    ASSISTED_GENERATION = "assisted_generation"
    CONTRASTIVE_SEARCH = "contrastive_search"
    GROUP_BEAM_SEARCH = "group_beam_search"
    CONSTRAINED_BEAM_SEARCH = "constrained_beam_search"
    DOLA_GENERATION = "dola_generation"


# The modes the reference (4.56+) no longer runs itself: it loads them from these Hub ``custom_generate``
# repositories, and only with ``trust_remote_code=True``. modelyard runs them built in (nothing is downloaded)
# but asks for the same opt-in, so code written for the reference behaves the same here.
HUB_MODES: dict[str, str] = {
    GenerationMode.DOLA_GENERATION: "transformers-community/dola",
    GenerationMode.CONTRASTIVE_SEARCH: "transformers-community/contrastive-search",
    GenerationMode.GROUP_BEAM_SEARCH: "transformers-community/group-beam-search",
    GenerationMode.CONSTRAINED_BEAM_SEARCH: "transformers-community/constrained-beam-search",
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class GenerationConfig(JsonSettings):
    """The settings of ``generate()`` (see the module doc). Keyword arguments are the settings; a keyword that
    is not one is kept as an attribute (as the reference does), unless it misspells one."""

    auto_class_choices = ()

    if TYPE_CHECKING:  # the settings are set from DEFAULTS at run time; to the type checker they are Any
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...

    # The settings of DEFAULTS (set in __init__), declared for type checkers and IDEs. The values are checked
    # by validate(), not by these types: settings the reference accepts in several shapes are typed Any.
    max_length: int
    max_new_tokens: int | None
    min_length: int
    min_new_tokens: int | None
    early_stopping: bool | str
    max_time: float | None
    stop_strings: str | list[str] | None
    do_sample: bool
    num_beams: int
    num_beam_groups: int
    penalty_alpha: float | None
    dola_layers: Any
    use_cache: bool
    cache_implementation: str | None
    cache_config: Any
    return_legacy_cache: bool | None
    prefill_chunk_size: int | None
    temperature: float
    top_k: int
    top_p: float
    min_p: float | None
    typical_p: float
    epsilon_cutoff: float
    eta_cutoff: float
    diversity_penalty: float
    repetition_penalty: float
    encoder_repetition_penalty: float
    length_penalty: float
    no_repeat_ngram_size: int
    bad_words_ids: list[list[int]] | None
    force_words_ids: Any
    renormalize_logits: bool
    constraints: Any
    forced_bos_token_id: int | None
    forced_eos_token_id: int | list[int] | None
    remove_invalid_values: bool
    exponential_decay_length_penalty: tuple[int, float] | None
    suppress_tokens: list[int] | None
    begin_suppress_tokens: list[int] | None
    sequence_bias: Any  # {token-id tuple: bias} or [[token ids, bias], ...]
    token_healing: bool
    guidance_scale: float | None
    low_memory: bool | None
    watermarking_config: dict[str, Any] | None
    num_return_sequences: int
    output_attentions: bool
    output_hidden_states: bool
    output_scores: bool
    output_logits: bool | None
    return_dict_in_generate: bool
    pad_token_id: int | None
    bos_token_id: int | None
    eos_token_id: int | list[int] | None
    encoder_no_repeat_ngram_size: int
    decoder_start_token_id: int | None
    is_assistant: bool
    num_assistant_tokens: int
    num_assistant_tokens_schedule: str
    assistant_confidence_threshold: float
    prompt_lookup_num_tokens: int | None
    max_matching_ngram_size: int | None
    assistant_early_exit: int | None
    assistant_lookbehind: int
    target_lookbehind: int
    disable_compile: bool

    def __init__(self, **kwargs: Any) -> None:
        self._from_model_config = bool(kwargs.pop("_from_model_config", False))
        self._commit_hash = kwargs.pop("_commit_hash", None)
        self.transformers_version = kwargs.pop("transformers_version", None)
        kwargs.pop("_original_object_hash", None)
        kwargs.pop("modelyard_version", None)
        for key, default in DEFAULTS.items():
            setattr(self, key, kwargs.pop(key, copy.deepcopy(default)))
        if self.watermarking_config is not None and not isinstance(self.watermarking_config, dict):
            self.watermarking_config = dict(vars(self.watermarking_config))
        misplaced = [name for name in GENERATE_ARGUMENTS if name in kwargs]
        if misplaced:
            raise ConfigurationError(
                f"{', '.join(map(repr, misplaced))} is not a setting of GenerationConfig: it is an argument of "
                "generate(); pass it to generate() directly."
            )
        refuse_near_misses("GenerationConfig()", [k for k in kwargs if not k.startswith("_")], DEFAULTS)
        for key, value in kwargs.items():  # a newer library's setting or the user's own: kept as is
            setattr(self, key, value)
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self, strict: bool = False) -> None:
        """Raise :class:`~modelyard.errors.ConfigurationError` for an impossible setting; warn (or, with
        ``strict=True``, raise) for settings the chosen decoding mode ignores."""
        self._check_values()
        issues = self._ignored_settings()
        if not issues:
            return
        details = "\n".join(f"- `{name}`: {text}" for name, text in issues.items())
        if strict:
            raise ConfigurationError(
                "GenerationConfig is invalid:\n" + details + "\nFix these settings (or leave them unset) and try again."
            )
        logger.warning("The following generation flags are not valid and may be ignored: %s.\n%s",
                       list(issues), details)

    def _check_values(self) -> None:
        def bad(name: str, need: str, fix: str = "") -> ConfigurationError:
            value = getattr(self, name)
            return ConfigurationError(f"GenerationConfig: `{name}` must be {need}, got {value!r}.{' ' + fix if fix else ''}")

        if self.max_new_tokens is not None and (not _is_int(self.max_new_tokens) or self.max_new_tokens <= 0):
            raise bad("max_new_tokens", "a positive integer (the number of tokens to generate)",
                      "Pass max_new_tokens=1 or more.")
        if not _is_int(self.max_length) or self.max_length < 0:
            raise bad("max_length", "a non-negative integer (prompt plus new tokens)")
        if not _is_int(self.min_length) or self.min_length < 0:
            raise bad("min_length", "a non-negative integer")
        if self.min_new_tokens is not None and (not _is_int(self.min_new_tokens) or self.min_new_tokens < 0):
            raise bad("min_new_tokens", "a non-negative integer")
        if not _is_int(self.num_beams) or self.num_beams < 1:
            raise bad("num_beams", "a positive integer", "Use num_beams=1 for greedy or sampling, more for beam search.")
        if not _is_int(self.num_return_sequences) or self.num_return_sequences < 1:
            raise bad("num_return_sequences", "a positive integer")
        if self.early_stopping not in (True, False, "never"):
            raise bad("early_stopping", "True, False or 'never'")
        if not _is_number(self.temperature) or self.temperature < 0 or (self.do_sample and self.temperature == 0):
            raise bad("temperature", "a positive number when sampling",
                      "For greedy decoding set do_sample=False." if self.temperature == 0 else "")
        if not _is_int(self.top_k) or self.top_k < 0:
            raise bad("top_k", "a non-negative integer (0 keeps every token)")
        if not _is_number(self.top_p) or not 0 <= self.top_p <= 1:
            raise bad("top_p", "a number in [0, 1] (the probability mass to keep)", "Use top_p=1.0 to disable it.")
        if self.min_p is not None and (not _is_number(self.min_p) or not 0 <= self.min_p <= 1):
            raise bad("min_p", "a number in [0, 1] or None")
        if not _is_number(self.typical_p) or not 0 < self.typical_p <= 1:
            raise bad("typical_p", "a number in (0, 1]", "Use typical_p=1.0 to disable it.")
        for name in ("epsilon_cutoff", "eta_cutoff"):
            value = getattr(self, name)
            if not _is_number(value) or not 0 <= value < 1:
                raise bad(name, "a number in [0, 1) (0 disables it)")
        for name in ("repetition_penalty", "encoder_repetition_penalty"):
            value = getattr(self, name)
            if not _is_number(value) or value <= 0:
                raise bad(name, "a positive number (1.0 means no penalty)")
        if not _is_number(self.length_penalty):
            raise bad("length_penalty", "a number")
        for name in ("no_repeat_ngram_size", "encoder_no_repeat_ngram_size"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                raise bad(name, "a non-negative integer (0 disables it)")
        if self.bad_words_ids is not None:
            words = self.bad_words_ids
            if (not isinstance(words, list) or not words
                    or any(not isinstance(w, list) or not w or any(not _is_int(t) or t < 0 for t in w) for w in words)):
                raise bad("bad_words_ids", "a non-empty list of non-empty lists of token ids, e.g. [[5], [7, 8]]")
        for name in ("pad_token_id", "bos_token_id", "decoder_start_token_id", "forced_bos_token_id"):
            value = getattr(self, name)
            if value is not None and not _is_int(value):
                raise bad(name, "an integer token id or None")
        for name in ("eos_token_id", "forced_eos_token_id"):
            value = getattr(self, name)
            if value is not None and not _is_int(value) and (
                    not isinstance(value, (list, tuple)) or not all(_is_int(t) and t >= 0 for t in value)):
                raise bad(name, "a token id, a list of token ids, or None")
        if self.stop_strings is not None and not isinstance(self.stop_strings, str) and (
                not isinstance(self.stop_strings, (list, tuple)) or not all(isinstance(s, str) and s for s in self.stop_strings)):
            raise bad("stop_strings", "a string or a list of non-empty strings")
        if self.cache_implementation is not None and self.cache_implementation not in CACHE_IMPLEMENTATIONS:
            raise bad("cache_implementation", f"one of {CACHE_IMPLEMENTATIONS} or None")
        if self.max_time is not None and (not _is_number(self.max_time) or self.max_time <= 0):
            raise bad("max_time", "a positive number of seconds or None")
        self._check_mode_values()
        if self.num_return_sequences != 1:
            if self.num_beams == 1 and not self.do_sample:
                raise ConfigurationError(
                    f"GenerationConfig: greedy decoding returns one sequence per prompt, but num_return_sequences="
                    f"{self.num_return_sequences}. Set do_sample=True or num_beams>={self.num_return_sequences}."
                )
            if self.num_beams > 1 and self.num_return_sequences > self.num_beams:
                raise ConfigurationError(
                    f"GenerationConfig: num_return_sequences ({self.num_return_sequences}) must be at most num_beams "
                    f"({self.num_beams}): beam search returns its best beams."
                )

    def _check_mode_values(self) -> None:
        """The settings of assisted decoding, group beam search and contrastive search."""
        def bad(name: str, need: str, fix: str = "") -> ConfigurationError:
            value = getattr(self, name)
            return ConfigurationError(f"GenerationConfig: `{name}` must be {need}, got {value!r}.{' ' + fix if fix else ''}")

        if not _is_int(self.num_beam_groups) or self.num_beam_groups < 1:
            raise bad("num_beam_groups", "a positive integer", "Use num_beam_groups=1 for plain beam search.")
        if self.constraints is not None or self.force_words_ids is not None:
            if self.do_sample:
                raise ConfigurationError("GenerationConfig: constrained beam search (constraints / force_words_ids) "
                                         "does not sample; set do_sample=False.")
            if self.num_beam_groups > 1:
                raise ConfigurationError("GenerationConfig: constrained beam search (constraints / force_words_ids) "
                                         "runs without beam groups; set num_beam_groups=1.")
        if self.num_beam_groups > 1:
            if self.num_beam_groups > self.num_beams or self.num_beams % self.num_beam_groups:
                raise ConfigurationError(
                    f"GenerationConfig: num_beams ({self.num_beams}) must be a multiple of num_beam_groups "
                    f"({self.num_beam_groups}): each group holds num_beams // num_beam_groups beams. Set num_beams to "
                    f"{self.num_beam_groups * max(1, self.num_beams // self.num_beam_groups)} or change num_beam_groups.")
            if self.do_sample:
                raise ConfigurationError(
                    f"GenerationConfig: group beam search (num_beam_groups={self.num_beam_groups}) does not sample; "
                    "set do_sample=False or num_beam_groups=1.")
        if self.guidance_scale is not None and (not _is_number(self.guidance_scale) or self.guidance_scale < 0):
            raise bad("guidance_scale", "a non-negative number (1 or None disables classifier-free guidance)")
        if not _is_number(self.diversity_penalty) or self.diversity_penalty < 0:
            raise bad("diversity_penalty", "a non-negative number (0 disables it)")
        if self.penalty_alpha is not None and (not _is_number(self.penalty_alpha) or not 0 <= self.penalty_alpha <= 1):
            raise bad("penalty_alpha", "a number in [0, 1] (the weight of the degeneration penalty) or None")
        if self.prompt_lookup_num_tokens is not None and (
                not _is_int(self.prompt_lookup_num_tokens) or self.prompt_lookup_num_tokens < 1):
            raise bad("prompt_lookup_num_tokens", "a positive integer (the tokens to copy from the prompt) or None")
        if self.max_matching_ngram_size is not None and (
                not _is_int(self.max_matching_ngram_size) or self.max_matching_ngram_size < 1):
            raise bad("max_matching_ngram_size", "a positive integer or None (2)")
        if not _is_number(self.num_assistant_tokens) or self.num_assistant_tokens < 1:
            raise bad("num_assistant_tokens", "a positive number of tokens")
        if self.num_assistant_tokens_schedule not in ASSISTANT_SCHEDULES:
            raise bad("num_assistant_tokens_schedule", f"one of {ASSISTANT_SCHEDULES}")
        threshold = self.assistant_confidence_threshold
        if threshold is not None and (not _is_number(threshold) or not 0 <= threshold <= 1):
            raise bad("assistant_confidence_threshold", "a probability in [0, 1] (0 disables it) or None")

    def _ignored_settings(self) -> dict[str, str]:
        issues: dict[str, str] = {}
        if self.do_sample is False:
            for name, default in _SAMPLING_FLAGS:
                value = getattr(self, name)
                if value is not None and value != default:
                    issues[name] = (
                        f"`do_sample` is set to `False`. However, `{name}` is set to `{value}` -- this flag is only "
                        f"used in sample-based generation modes. You should set `do_sample=True` or unset `{name}`."
                    )
        if self.penalty_alpha is not None and self.penalty_alpha > 0 and (self.do_sample or self.num_beams > 1):
            issues["penalty_alpha"] = ("`penalty_alpha` selects contrastive search, which runs with num_beams=1 and "
                                       "do_sample=False only; it is ignored with these settings.")
        if self.diversity_penalty and self.num_beam_groups == 1:
            issues["diversity_penalty"] = ("`diversity_penalty` is used by group beam search only: set num_beam_groups "
                                           "> 1 (and num_beams a multiple of it) or unset `diversity_penalty`.")
        if self.num_beams == 1:
            if self.early_stopping is not False:
                issues["early_stopping"] = self._single_beam_text("early_stopping", self.early_stopping)
            if self.length_penalty is not None and self.length_penalty != 1.0:
                issues["length_penalty"] = self._single_beam_text("length_penalty", self.length_penalty)
        if self.use_cache is False:
            for name in ("cache_implementation", "cache_config", "return_legacy_cache"):
                if getattr(self, name) is not None:
                    issues[name] = (f"You have set `use_cache` to `False`, but {name} is set to "
                                    f"{getattr(self, name)}. {name} will have no effect.")
        if self.return_dict_in_generate is not True:
            for name in EXTRA_OUTPUT_FLAGS:
                if getattr(self, name) is True:
                    issues[name] = (f"`return_dict_in_generate` is NOT set to `True`, but `{name}` is. When "
                                    f"`return_dict_in_generate` is not `True`, `{name}` is ignored.")
        return issues

    @staticmethod
    def _single_beam_text(name: str, value: Any) -> str:
        return (f"`num_beams` is set to 1. However, `{name}` is set to `{value}` -- this flag is only used in "
                f"beam-based generation modes. You should set `num_beams>1` or unset `{name}`.")

    def get_generation_mode(self, assistant_model: Any = None) -> str:
        """The decoding strategy these settings select (a :class:`GenerationMode` value), chosen as the reference
        chooses: constraints first, then the beam count, ``do_sample``, ``penalty_alpha`` with ``top_k > 1``
        (contrastive search) and ``num_beam_groups``; an assistant (or prompt lookup) turns greedy decoding and
        sampling into assisted decoding and is ignored, with a warning, by the other modes."""
        if self.constraints is not None or self.force_words_ids is not None:
            mode = GenerationMode.CONSTRAINED_BEAM_SEARCH
        elif self.num_beams == 1:
            if self.do_sample:
                mode = GenerationMode.SAMPLE
            elif self.top_k is not None and self.top_k > 1 and self.penalty_alpha is not None and self.penalty_alpha > 0:
                mode = GenerationMode.CONTRASTIVE_SEARCH
            else:
                mode = GenerationMode.GREEDY_SEARCH
        elif self.num_beam_groups > 1:
            mode = GenerationMode.GROUP_BEAM_SEARCH
        else:
            mode = GenerationMode.BEAM_SAMPLE if self.do_sample else GenerationMode.BEAM_SEARCH
        if assistant_model is not None or self.prompt_lookup_num_tokens is not None or (
                self.assistant_early_exit is not None):
            if mode in (GenerationMode.GREEDY_SEARCH, GenerationMode.SAMPLE):
                mode = GenerationMode.ASSISTED_GENERATION
            else:
                logger.warning("An assistant model (or prompt lookup) was given, but assisted decoding runs with greedy "
                               "decoding and sampling only; the settings select %s, which ignores it.", mode)
        if self.dola_layers is not None:
            if mode in (GenerationMode.GREEDY_SEARCH, GenerationMode.SAMPLE):
                mode = GenerationMode.DOLA_GENERATION
            else:
                logger.warning("dola_layers is set, but DoLa decoding runs with greedy decoding and sampling only; the "
                               "settings select %s, which ignores it.", mode)
        return mode

    # ------------------------------------------------------------------ changing
    def update(self, **kwargs: Any) -> dict[str, Any]:
        """Set the keywords that are settings (or existing attributes); return the others, untouched. A
        misspelt setting is an error. The result is validated."""
        unused: dict[str, Any] = {}
        for key, value in kwargs.items():
            if key in DEFAULTS or hasattr(self, key):
                setattr(self, key, value)
            else:
                unused[key] = value
        self.validate()
        return unused

    def copy(self) -> GenerationConfig:
        return copy.deepcopy(self)

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """Every setting, the user's extra attributes, and the file's metadata."""
        output = {k: copy.deepcopy(v) for k, v in self.__dict__.items()
                  if not k.startswith("_") or k == "_from_model_config"}
        if not output.get("_from_model_config"):
            output.pop("_from_model_config", None)
        if self.transformers_version is None:
            output.pop("transformers_version", None)
        output["modelyard_version"] = __version__
        return output

    def to_diff_dict(self) -> dict[str, Any]:
        """Only the settings that differ from the defaults (what ``generation_config.json`` holds)."""
        return {key: value for key, value in self.to_dict().items()
                if key not in DEFAULTS or value != DEFAULTS[key]}

    def to_json_string(self, use_diff: bool = True, ignore_metadata: bool = False) -> str:
        data = self.to_diff_dict() if use_diff else self.to_dict()
        if ignore_metadata:
            for key in METADATA_FIELDS:
                data.pop(key, None)
        return json.dumps(_json_ready(data), indent=2, sort_keys=True) + "\n"

    def to_json_file(self, json_file_path: str | os.PathLike[str], use_diff: bool = True) -> None:
        Path(json_file_path).write_text(self.to_json_string(use_diff=use_diff), encoding="utf-8")

    def _shown_json(self) -> str:
        return self.to_json_string(ignore_metadata=True)

    def _compared(self) -> Any:
        return self.to_json_string(use_diff=False, ignore_metadata=True)

    def _same_kind(self, other: JsonSettings) -> bool:
        return isinstance(other, GenerationConfig)  # a subclass's object compares by its settings too

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], *, return_unused_kwargs: bool = False,
                  **kwargs: Any) -> GenerationConfig | tuple[GenerationConfig, dict[str, Any]]:
        """Build from a dict (a ``generation_config.json``'s content); ``kwargs`` override its settings."""
        if not isinstance(config_dict, dict):
            raise ConfigurationError(f"GenerationConfig.from_dict needs a dict, got {type(config_dict).__name__}.")
        # A file's keys that are not settings are the repository's own (Baichuan's user_token_id): kept as
        # attributes, never taken for misspelt settings.
        own = {k: v for k, v in config_dict.items() if k not in DEFAULTS and k not in METADATA_FIELDS
               and not k.startswith("_") and k not in GENERATE_ARGUMENTS}
        settings = {k: v for k, v in config_dict.items() if k not in own}
        config = cls(**{**settings, **{k: v for k, v in kwargs.items() if k in DEFAULTS or k in METADATA_FIELDS}})
        for key, value in own.items():
            setattr(config, key, value)
        unused = {k: v for k, v in kwargs.items() if k not in DEFAULTS and k not in METADATA_FIELDS}
        return (config, unused) if return_unused_kwargs else config

    @classmethod
    def from_model_config(cls, model_config: Any) -> GenerationConfig:
        """The generation settings a model config holds (older checkpoints kept them there), over the defaults."""
        data = model_config.to_dict() if hasattr(model_config, "to_dict") else dict(model_config)
        settings = {k: v for k, v in data.items() if k in DEFAULTS and v is not None}
        for name in ("output_attentions", "output_hidden_states", "use_cache"):
            settings.pop(name, None)  # the model's forward flags, not generate()'s
        decoder = None
        for name in ("text_config", "decoder"):
            sub = getattr(model_config, name, None)
            if sub is not None and hasattr(sub, "to_dict"):
                decoder = sub.to_dict()
        if decoder:
            for key, value in decoder.items():
                if key in DEFAULTS and value is not None and key not in settings and key not in (
                        "output_attentions", "output_hidden_states", "use_cache"):
                    settings[key] = value
        config = cls(**settings, _from_model_config=True)
        if not config.return_dict_in_generate and any(getattr(config, f) for f in EXTRA_OUTPUT_FLAGS):
            config.return_dict_in_generate = True
        return config

    # ------------------------------------------------------------------ files (PretrainedIO hooks)
    def _save_into(self, directory: Path, config_file_name: str | os.PathLike[str] | None = None) -> list[Path]:
        """Write ``generation_config.json`` (or ``config_file_name``); refuses settings that would be ignored,
        as the reference does, so a saved file never carries them."""
        try:
            self.validate(strict=True)
        except ConfigurationError as err:
            raise ConfigurationError(f"{err}\nFix these settings to save the generation config.") from err
        path = directory / (config_file_name or GENERATION_CONFIG_NAME)
        self.to_json_file(path)
        logger.info("Generation config saved in %s", path)
        return [path]

    @classmethod
    def _from_source(cls, location: FileSource | Path, config_file_name: str | os.PathLike[str] | None = None, *,
                     return_unused_kwargs: bool = False, **kwargs: Any) -> Any:
        """Read ``generation_config.json`` (or ``config_file_name``) from a folder, a repository or a JSON file;
        ``kwargs`` override its settings."""
        kwargs.pop("trust_remote_code", None)
        name = os.fspath(config_file_name or GENERATION_CONFIG_NAME)
        if isinstance(location, Path):
            path = location
            commit = None
        else:
            path = location.get(name)  # type: ignore[assignment]  # a FileSource gives a local path or None
            commit = location.commit_hash
        if path is None or not path.is_file():
            raise MissingFileError(f"No {name} at {str(location)!r}: a model saved without generation settings has "
                                   "none; build one with GenerationConfig() or GenerationConfig.from_model_config().")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ConfigurationError(f"{path} is not valid JSON ({err}); fix or delete the file.") from err
        if commit is not None:
            data["_commit_hash"] = commit
        return cls.from_dict(data, return_unused_kwargs=return_unused_kwargs, **kwargs)

    @classmethod
    def _accepted_keywords(cls) -> set[str]:
        return {"config_file_name", "return_unused_kwargs", "trust_remote_code"} | set(DEFAULTS)


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


__all__ = ["GENERATION_CONFIG_NAME", "GenerationConfig", "GenerationMode"]
