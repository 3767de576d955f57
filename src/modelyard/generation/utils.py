"""``GenerationMixin``: ``generate()`` for every model with a causal-LM head.

The model-side contract (the reference library's, 4.57, so that modelyard's decoder families and remote code
written for the reference both generate):

**Forward keywords.** ``generate()`` calls ``model(**model_inputs)`` where ``model_inputs`` comes from
``model.prepare_inputs_for_generation(input_ids, **model_kwargs)``. A causal LM's ``forward`` takes, by keyword:

- ``input_ids``: ``(batch, new_seq)`` long tensor, only the tokens not yet in the cache (the whole prompt on the
  first step, one token per later step); ``None`` when ``inputs_embeds`` is given instead;
- ``attention_mask``: ``(batch, past_seq + new_seq)`` of 1 (attend) / 0 (padding), covering the cached tokens
  and the new ones; left padding shows up as leading zeros. With a :class:`StaticCache` the keys span
  ``max_cache_len`` positions, more than the mask covers: positions past the mask's end are not yet written
  and the causal rule (key position <= ``cache_position`` of the query) hides them;
- ``position_ids``: ``(batch, new_seq)``, the positions of the new tokens counted over non-padding tokens
  (``attention_mask.cumsum(-1) - 1``, padding positions set to 1), so a left-padded row gets the positions it
  would have alone; models that do not take ``position_ids`` are not given it;
- ``past_key_values``: a :class:`~modelyard.generation.caches.Cache`: a ``DynamicCache`` made by ``generate()``
  for classes that set ``_supports_cache_class = True`` (or ``cache_implementation="dynamic"``), a
  ``StaticCache`` with ``cache_implementation="static"``; otherwise ``None`` on the first step, and the model makes
  its own cache when ``use_cache`` (as the reference's models do; older code returns legacy tuples, which are
  passed back as they are). Each attention layer calls
  ``past_key_values.update(key_states, value_states, layer_idx, {"cache_position": cache_position})`` with
  states shaped ``(batch, kv_heads, new_seq, head_dim)`` and attends over the returned keys and values.
  ``past_key_values.get_seq_length()`` is the number of tokens already cached. Older code may be given (or
  return) the legacy tuple ``((keys, values), ...)``; ``generate()`` converts it with
  ``DynamicCache.from_legacy_cache``;
- ``inputs_embeds``: ``(batch, new_seq, hidden)``, used instead of ``input_ids`` on the first step only;
- ``use_cache``: ``True`` during generation: the model returns its cache;
- ``cache_position``: ``(new_seq,)`` long tensor, the absolute positions of the new tokens in the cache
  (``arange(past_seq, past_seq + new_seq)``), the same for every row: the write index for static caches and
  the query positions of the causal mask;
- ``logits_to_keep``: when the forward takes it, ``generate()`` passes 1 (only the last position's logits are
  needed, which spares the prefill a (batch, prompt, vocab) product);
- ``labels`` (training only; never passed by ``generate()``), ``return_dict``, ``output_attentions``,
  ``output_hidden_states``; any other keyword given to ``generate()`` that the forward accepts is passed on.

**Outputs.** A ``CausalLMOutputWithPast`` (or any ``ModelOutput``/dict) with ``logits`` shaped
``(batch, new_seq, vocab)`` (only the last position's row is read) and ``past_key_values`` (the updated cache;
a model may also return a legacy tuple). A plain tuple output is read as ``(logits, past_key_values, ...)``.

**Hooks a model may override**: ``prepare_inputs_for_generation`` (the default slices ``input_ids`` to the
positions not yet cached using ``cache_position``, derives ``position_ids`` from the attention mask and passes
every other keyword on), ``_reorder_cache(past_key_values, beam_idx)`` (legacy caches under beam search),
``can_generate()`` (true for a class that has a language-model head or defines
``prepare_inputs_for_generation``), and ``_supports_cache_class`` / ``_supports_static_cache`` flags.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import weakref
from typing import TYPE_CHECKING, Any

import torch

from modelyard.errors import ConfigurationError, UnexpectedArgumentError
from modelyard.generation.assisted import assisted_decoding
from modelyard.generation.beam_search import beam_search
from modelyard.generation.caches import Cache, DynamicCache, StaticCache
from modelyard.generation.configuration_utils import (
    DEFAULTS,
    UNSUPPORTED,
    GenerationConfig,
    GenerationMode,
)
from modelyard.generation.constrained_beam import constrained_beam_search
from modelyard.generation.contrastive import contrastive_search
from modelyard.generation.group_beam import group_beam_search
from modelyard.generation.logits_process import (
    EpsilonLogitsWarper,
    EtaLogitsWarper,
    ExponentialDecayLengthPenalty,
    ForcedBOSTokenLogitsProcessor,
    ForcedEOSTokenLogitsProcessor,
    HammingDiversityLogitsProcessor,
    InfNanRemoveLogitsProcessor,
    LogitNormalization,
    LogitsProcessorList,
    MinLengthLogitsProcessor,
    MinNewTokensLengthLogitsProcessor,
    MinPLogitsWarper,
    NoBadWordsLogitsProcessor,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
    SequenceBiasLogitsProcessor,
    SuppressTokensAtBeginLogitsProcessor,
    SuppressTokensLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
    TypicalLogitsWarper,
    UnbatchedClassifierFreeGuidanceLogitsProcessor,
)
from modelyard.generation.modes import candidate_generator, check_mode, prepare_rollback_cache
from modelyard.generation.outputs import (  # noqa: F401 - the reference's names at its path
    BeamSampleDecoderOnlyOutput,
    BeamSearchDecoderOnlyOutput,
    GenerateBeamDecoderOnlyOutput,
    GenerateDecoderOnlyOutput,
    GenerateOutput,
    GreedySearchDecoderOnlyOutput,
    SampleDecoderOnlyOutput,
    decoder_only_output,
)
from modelyard.generation.stopping_criteria import (
    ConfidenceCriteria,
    EosTokenCriteria,
    MaxLengthCriteria,
    MaxTimeCriteria,
    StoppingCriteriaList,
    StopStringCriteria,
)
from modelyard.options import near_miss

if TYPE_CHECKING:
    from modelyard.configuration import PretrainedConfig

logger = logging.getLogger(__name__)

# The names a model's output may give its cache under (older remote code uses the others).
CACHE_OUTPUT_NAMES = ("past_key_values", "cache_params", "state", "mems", "past_buckets_states")


@functools.lru_cache(maxsize=256)
def _parameters_of(function: Any) -> tuple[frozenset[str], bool]:
    """``(parameter names, takes **kwargs)`` of a forward (computed once per function)."""
    params = inspect.signature(function).parameters.values()
    return frozenset(p.name for p in params), any(p.kind is p.VAR_KEYWORD for p in params)


def _forward_parameters(model: Any) -> tuple[frozenset[str], bool]:  # an nn.Module with GenerationMixin
    return _parameters_of(type(model).forward)


class _Settings:
    """What the decoding loop reads each step, resolved once per generate() call."""

    __slots__ = ("eos", "pad", "max_length", "prompt_length", "do_sample", "output_scores", "output_logits",
                 "return_dict", "output_attentions", "output_hidden_states")
    eos: torch.Tensor | None
    pad: int | None
    max_length: int
    prompt_length: int
    do_sample: bool
    output_scores: bool
    output_logits: bool
    return_dict: bool
    output_attentions: bool
    output_hidden_states: bool


class GenerationMixin:
    """``generate()`` for models with a causal language-model head (see the module doc for the contract)."""

    if TYPE_CHECKING:  # what the model this mixin is combined with (a PreTrainedModel) gives it
        config: PretrainedConfig

        @property
        def device(self) -> torch.device: ...

        @property
        def dtype(self) -> torch.dtype: ...

        def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    # -- inputs of each step ------------------------------------------------------------------------------------
    def prepare_inputs_for_generation(
        self,
        input_ids: torch.Tensor,
        past_key_values: Any = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        cache_position: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The forward's keywords for one step: the tokens not yet cached (sliced by ``cache_position``),
        ``position_ids`` from the attention mask (when the forward takes them), and every other keyword as given."""
        model_inputs: dict[str, Any] = {"cache_position": cache_position}
        if past_key_values is not None:
            model_inputs["past_key_values"] = past_key_values
            if cache_position is not None:
                new = cache_position.shape[0]
                if inputs_embeds is not None and input_ids.shape[1] == 0:
                    inputs_embeds = inputs_embeds[:, -new:]
                elif inputs_embeds is not None or int(cache_position[-1]) >= input_ids.shape[1]:
                    input_ids = input_ids[:, -new:]
                elif input_ids.shape[1] != new:
                    input_ids = input_ids[:, cache_position]
        first_step = inputs_embeds is not None and cache_position is not None and (
            cache_position.shape[0] == inputs_embeds.shape[1])
        if first_step:
            model_inputs["input_ids"] = None
            model_inputs["inputs_embeds"] = inputs_embeds
        else:
            model_inputs["input_ids"] = input_ids if input_ids.is_contiguous() else input_ids.contiguous()
            model_inputs["inputs_embeds"] = None
        forward_params, _ = _forward_parameters(self)
        if attention_mask is not None and kwargs.get("position_ids") is None and "position_ids" in forward_params:
            mask = attention_mask.long()
            if past_key_values is not None and cache_position is not None and cache_position.shape[0] == 1:
                # one new token (never padding): its position is the count of real tokens before it
                kwargs["position_ids"] = mask.sum(-1, keepdim=True) - 1
            else:
                position_ids = mask.cumsum(-1) - 1
                position_ids.masked_fill_(mask == 0, 1)
                kwargs["position_ids"] = position_ids
        current = (model_inputs["inputs_embeds"].shape[1] if model_inputs.get("inputs_embeds") is not None
                   else model_inputs["input_ids"].shape[1])
        for name in ("position_ids", "token_type_ids"):
            value = kwargs.get(name)
            if value is not None:
                if past_key_values is not None and value.shape[1] != current:
                    value = value[:, -current:].contiguous()
                model_inputs[name] = value
        if attention_mask is not None:
            model_inputs["attention_mask"] = attention_mask
        for key, value in kwargs.items():
            if key not in model_inputs:
                model_inputs[key] = value
        model_inputs.pop("labels", None)
        return model_inputs

    def _update_model_kwargs_for_generation(
        self, outputs: Any, model_kwargs: dict[str, Any], is_encoder_decoder: bool = False, num_new_tokens: int = 1
    ) -> dict[str, Any]:
        """Carry the cache forward, extend the attention mask (and token types) by the new token, advance
        ``cache_position``."""
        for name in CACHE_OUTPUT_NAMES:
            value = outputs.get(name) if isinstance(outputs, dict) else getattr(outputs, name, None)
            if value is not None:
                model_kwargs["past_key_values"] = value
                break
        token_type_ids = model_kwargs.get("token_type_ids")
        if token_type_ids is not None:
            model_kwargs["token_type_ids"] = torch.cat([token_type_ids, token_type_ids[:, -1:]], dim=-1)
        attention_mask = model_kwargs.get("attention_mask")
        if attention_mask is not None:
            model_kwargs["attention_mask"] = torch.cat(
                [attention_mask, attention_mask.new_ones((attention_mask.shape[0], num_new_tokens))], dim=-1)
        position = model_kwargs.get("cache_position")
        if position is not None:
            if model_kwargs.get("use_cache", True):
                model_kwargs["cache_position"] = position[-1:] + num_new_tokens
            else:
                added = torch.arange(position[-1] + 1, position[-1] + num_new_tokens + 1, dtype=position.dtype,
                                     device=position.device)
                model_kwargs["cache_position"] = torch.cat((position, added))
        return model_kwargs

    def _reorder_cache(self, past_key_values: Any, beam_idx: torch.Tensor) -> Any:
        """Reorder the cache's batch rows to follow the beams beam search kept (legacy tuples included)."""
        if isinstance(past_key_values, Cache) or hasattr(past_key_values, "reorder_cache"):
            past_key_values.reorder_cache(beam_idx)
            return past_key_values
        return tuple(tuple(state.index_select(0, beam_idx.to(state.device)) for state in layer)
                     for layer in past_key_values)

    @classmethod
    def can_generate(cls) -> bool:
        return True

    # -- settings ----------------------------------------------------------------------------------------------
    @staticmethod
    def _fill_model_defaults(config: GenerationConfig, model_config: GenerationConfig,
                             use_model_defaults: bool | None) -> None:
        """A config given to generate() takes the model's own defaults where it keeps the global default (the
        reference since 4.50); with ``use_model_defaults=False`` only the special tokens it lacks."""
        if use_model_defaults is False:
            for name in ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id"):
                if getattr(config, name) is None:
                    setattr(config, name, getattr(model_config, name))
            return
        taken = {}
        for name, default in DEFAULTS.items():
            model_value = getattr(model_config, name, default)
            if getattr(config, name, default) == default and model_value != default:
                setattr(config, name, copy.deepcopy(model_value))
                taken[name] = model_value
        if config.temperature == 0.0:
            config.do_sample = False
        if taken and use_model_defaults is None:
            logger.warning("`generation_config` default values have been modified to match model-specific defaults: "
                           "%s. If this is not desired, please set these values explicitly.", taken)

    def _prepare_generation_config(
        self, generation_config: GenerationConfig | None, kwargs: dict[str, Any],
        use_model_defaults: bool | None = None,
    ) -> tuple[GenerationConfig, dict[str, Any]]:
        """The settings of this call (the model's, or the given config, with the keywords over them) and the
        keywords left for the model."""
        if generation_config is None:
            generation_config = getattr(self, "generation_config", None)
            if generation_config is None:
                generation_config = GenerationConfig.from_model_config(self.config)
        elif not isinstance(generation_config, GenerationConfig):
            raise ConfigurationError(
                f"generation_config must be a GenerationConfig, got {type(generation_config).__name__}; build one "
                "with GenerationConfig(**settings) or pass the settings as keywords of generate().")
        config = copy.deepcopy(generation_config)
        model_config = getattr(self, "generation_config", None)
        if model_config is not None and generation_config is not model_config:
            self._fill_model_defaults(config, model_config, use_model_defaults)
        settings = {k: kwargs.pop(k) for k in list(kwargs) if k in DEFAULTS}
        if settings:
            for key, value in settings.items():
                setattr(config, key, value)
            config.validate()
        elif config is not getattr(self, "generation_config", None):
            config._check_values()
        return config, kwargs

    def _check_model_kwargs(self, model_kwargs: dict[str, Any]) -> None:
        """Refuse keywords neither generate() nor the model takes (typos of generation settings included)."""
        forward_params, forward_varkw = _forward_parameters(self)
        prepare_params, prepare_varkw = _parameters_of(type(self).prepare_inputs_for_generation)
        if forward_varkw and prepare_varkw:
            accepted = None
        else:
            accepted = forward_params | prepare_params
        unused = []
        for key, value in model_kwargs.items():
            if value is None:
                continue
            if accepted is not None and key not in accepted:
                unused.append(key)
            elif key not in forward_params and near_miss(key, DEFAULTS) and key not in prepare_params:
                unused.append(key)
        if unused:
            hints = [f"{k!r} (did you mean {m!r}?)" if (m := near_miss(k, set(DEFAULTS) | {"tokenizer", "streamer"}))
                     else repr(k) for k in unused]
            raise UnexpectedArgumentError(
                f"generate() got keyword arguments that are neither generation settings nor inputs of "
                f"{type(self).__name__}.forward: {', '.join(hints)}.")

    def _special_tokens(self, config: GenerationConfig, device: torch.device) -> tuple[torch.Tensor | None, int | None]:
        eos = config.eos_token_id
        eos_list = None if eos is None else ([eos] if isinstance(eos, int) else list(eos))
        if eos_list is not None and not eos_list:
            eos_list = None
        pad = config.pad_token_id
        if pad is None and eos_list is not None:
            logger.warning("Setting `pad_token_id` to `eos_token_id`:%s for open-end generation.", eos_list[0])
            pad = eos_list[0]
            config.pad_token_id = pad
        eos_tensor = None if eos_list is None else torch.tensor(eos_list, dtype=torch.long, device=device)
        return eos_tensor, pad

    def _prepare_special_tokens(self, generation_config: GenerationConfig, kwargs_has_attention_mask: bool | None = None,
                                device: Any = None) -> None:
        """Set ``generation_config._bos_token_tensor``, ``_eos_token_tensor`` (1-d), ``_pad_token_tensor`` (the
        first eos where no pad token is set) and ``_decoder_start_token_tensor``, as the reference's
        ``generate()`` does before asking for processors and criteria: remote code with a decoding loop of
        its own calls it too. Changes ``generation_config`` in place (use a copy)."""
        device = device if device is not None else self.device

        def as_tensor(token: Any) -> torch.Tensor | None:
            if token is None:
                return None
            if isinstance(token, torch.Tensor):
                return token.to(device)
            return torch.tensor(token, dtype=torch.long, device=device)

        config: Any = generation_config  # settings and the private tensors are attributes set at run time
        eos = as_tensor(config.eos_token_id)
        if eos is not None and eos.ndim == 0:
            eos = eos.unsqueeze(0)
        pad = as_tensor(config.pad_token_id)
        if pad is None and eos is not None and eos.numel():
            if kwargs_has_attention_mask is False:
                logger.warning("The attention mask and the pad token id were not set: pass the inputs' attention_mask "
                               "to get reliable results.")
            pad = eos[0]
            logger.warning("Setting `pad_token_id` to `eos_token_id`:%s for open-end generation.", int(pad))
        bos = as_tensor(config.bos_token_id)
        start = as_tensor(config.decoder_start_token_id)
        if self.config.is_encoder_decoder and start is None:
            start = bos
        config._bos_token_tensor = bos
        config._eos_token_tensor = eos
        config._pad_token_tensor = pad
        config._decoder_start_token_tensor = start

    def _get_logits_processor(
        self, generation_config: GenerationConfig, input_ids_seq_length: int | None = None,
        encoder_input_ids: torch.Tensor | None = None, prefix_allowed_tokens_fn: Any = None,
        logits_processor: LogitsProcessorList | None = None, device: Any = None,
        model_kwargs: dict[str, Any] | None = None, negative_prompt_ids: Any = None,
        negative_prompt_attention_mask: Any = None, *, eos_tensor: torch.Tensor | None = None,
    ) -> LogitsProcessorList:
        """The processors the settings ask for, in the reference's order, with the caller's merged in. The eos
        tokens are ``eos_tensor``, else those :meth:`_prepare_special_tokens` set on the config."""
        config = generation_config
        if eos_tensor is None:
            eos_tensor = getattr(config, "_eos_token_tensor", None)
        processors = LogitsProcessorList()
        if config.guidance_scale is not None and config.guidance_scale != 1:
            processors.append(UnbatchedClassifierFreeGuidanceLogitsProcessor(
                config.guidance_scale, self, unconditional_ids=negative_prompt_ids,
                unconditional_attention_mask=negative_prompt_attention_mask, use_cache=config.use_cache))
        if config.sequence_bias is not None:
            processors.append(SequenceBiasLogitsProcessor(sequence_bias=config.sequence_bias))
        if config.diversity_penalty is not None and config.diversity_penalty > 0.0 and config.num_beam_groups > 1:
            processors.append(HammingDiversityLogitsProcessor(
                diversity_penalty=float(config.diversity_penalty), num_beams=config.num_beams,
                num_beam_groups=config.num_beam_groups))
        if config.repetition_penalty is not None and config.repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(penalty=config.repetition_penalty))
        if config.no_repeat_ngram_size:
            processors.append(NoRepeatNGramLogitsProcessor(config.no_repeat_ngram_size))
        if config.bad_words_ids is not None:
            processors.append(NoBadWordsLogitsProcessor(config.bad_words_ids, eos_tensor))
        if config.min_length and eos_tensor is not None:
            processors.append(MinLengthLogitsProcessor(config.min_length, eos_tensor, device=device))
        if config.min_new_tokens and eos_tensor is not None:
            processors.append(MinNewTokensLengthLogitsProcessor(input_ids_seq_length or 0, config.min_new_tokens,
                                                                eos_tensor, device=device))
        if prefix_allowed_tokens_fn is not None:
            processors.append(_PrefixConstrained(prefix_allowed_tokens_fn, config.num_beams))
        if config.forced_bos_token_id is not None:
            processors.append(ForcedBOSTokenLogitsProcessor(config.forced_bos_token_id))
        if config.forced_eos_token_id is not None:
            processors.append(ForcedEOSTokenLogitsProcessor(config.max_length, config.forced_eos_token_id, device=device))
        if config.remove_invalid_values is True:
            processors.append(InfNanRemoveLogitsProcessor())
        if config.exponential_decay_length_penalty is not None and eos_tensor is not None:
            processors.append(ExponentialDecayLengthPenalty(config.exponential_decay_length_penalty, eos_tensor,
                                                            input_ids_seq_length or 0))
        if config.suppress_tokens is not None:
            processors.append(SuppressTokensLogitsProcessor(config.suppress_tokens, device=device))
        if config.begin_suppress_tokens is not None:
            begin = input_ids_seq_length or 0
            if not (begin > 1 or config.forced_bos_token_id is None):
                begin += 1
            processors.append(SuppressTokensAtBeginLogitsProcessor(config.begin_suppress_tokens, begin, device=device))
        processors = _merge(processors, logits_processor, "logits processor")
        if config.do_sample:
            if config.num_beams > 1:
                keep = (eos_tensor.shape[0] + 1) if eos_tensor is not None else 2
            else:
                keep = 1
            if config.temperature is not None and config.temperature != 1.0:
                processors.append(TemperatureLogitsWarper(config.temperature))
            if config.top_k is not None and config.top_k != 0:
                processors.append(TopKLogitsWarper(top_k=config.top_k, min_tokens_to_keep=keep))
            if config.top_p is not None and config.top_p < 1.0:
                processors.append(TopPLogitsWarper(top_p=config.top_p, min_tokens_to_keep=keep))
            if config.min_p is not None:
                processors.append(MinPLogitsWarper(min_p=config.min_p, min_tokens_to_keep=keep))
            if config.typical_p is not None and config.typical_p < 1.0:
                processors.append(TypicalLogitsWarper(mass=config.typical_p, min_tokens_to_keep=keep))
            if config.epsilon_cutoff is not None and 0.0 < config.epsilon_cutoff < 1.0:
                processors.append(EpsilonLogitsWarper(epsilon=config.epsilon_cutoff, min_tokens_to_keep=keep))
            if config.eta_cutoff is not None and 0.0 < config.eta_cutoff < 1.0:
                processors.append(EtaLogitsWarper(epsilon=config.eta_cutoff, min_tokens_to_keep=keep,
                                                  device=device or "cpu"))
        if config.renormalize_logits is True:
            processors.append(LogitNormalization())
        return processors

    def _get_stopping_criteria(
        self, generation_config: GenerationConfig, stopping_criteria: StoppingCriteriaList | None,
        tokenizer: Any = None, *, eos_tensor: torch.Tensor | None = None,
    ) -> StoppingCriteriaList:
        """The criteria the settings ask for, with the caller's merged in (eos tokens as for the processors)."""
        config = generation_config
        if eos_tensor is None:
            eos_tensor = getattr(config, "_eos_token_tensor", None)
        criteria = StoppingCriteriaList()
        if config.max_length is not None:
            criteria.append(MaxLengthCriteria(max_length=config.max_length,
                                              max_position_embeddings=getattr(self.config, "max_position_embeddings", None)))
        if config.max_time is not None:
            criteria.append(MaxTimeCriteria(max_time=config.max_time))
        if config.stop_strings is not None:
            if tokenizer is None:
                raise ConfigurationError(
                    f"There are stop strings (stop_strings={config.stop_strings!r}) but no tokenizer to read the "
                    "generated text: pass the model's tokenizer as generate(..., tokenizer=tokenizer).")
            criteria.append(StopStringCriteria(stop_strings=config.stop_strings, tokenizer=tokenizer))
        if eos_tensor is not None:
            criteria.append(EosTokenCriteria(eos_token_id=eos_tensor))
        threshold = config.assistant_confidence_threshold
        if config.is_assistant and threshold is not None and threshold > 0:
            criteria.append(ConfidenceCriteria(assistant_confidence_threshold=threshold))
        return _merge(criteria, stopping_criteria, "stopping criterion")

    # -- generate ------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(
        self,
        inputs: torch.Tensor | None = None,
        generation_config: GenerationConfig | None = None,
        logits_processor: LogitsProcessorList | None = None,
        stopping_criteria: StoppingCriteriaList | None = None,
        prefix_allowed_tokens_fn: Any = None,
        synced_gpus: bool | None = None,
        assistant_model: Any = None,
        streamer: Any = None,
        negative_prompt_ids: torch.Tensor | None = None,
        negative_prompt_attention_mask: torch.Tensor | None = None,
        use_model_defaults: bool | None = None,
        custom_generate: Any = None,
        **kwargs: Any,
    ) -> torch.Tensor | GenerateDecoderOnlyOutput | GenerateBeamDecoderOnlyOutput:
        """Continue the prompts ``inputs`` (``(batch, seq)`` token ids; or ``input_ids=`` / ``inputs_embeds=``).

        Settings come from ``generation_config`` (default: ``model.generation_config``) with the keywords that
        are :class:`GenerationConfig` settings over them (``max_new_tokens``, ``do_sample``, ``num_beams``, ...);
        ``tokenizer`` is needed for ``stop_strings``; every other keyword (``attention_mask``, ...) goes to the
        model. Returns the sequences (prompt + new tokens) as a ``(batch * num_return_sequences, length)``
        tensor, or a :class:`GenerateDecoderOnlyOutput` / :class:`GenerateBeamDecoderOnlyOutput` with
        ``return_dict_in_generate=True``. Left-padded batches (with their ``attention_mask``) give each row what
        the prompt alone gives.
        """
        if synced_gpus:
            raise ConfigurationError("generate(): synced_gpus=True (multi-process generation) is not supported; "
                                     "generate in each process separately.")
        trust_remote_code = kwargs.pop("trust_remote_code", None)
        tokenizer = kwargs.pop("tokenizer", None)
        assistant_tokenizer = kwargs.pop("assistant_tokenizer", None)
        config, model_kwargs = self._prepare_generation_config(generation_config, kwargs, use_model_defaults)
        mode = config.get_generation_mode(assistant_model)
        check_mode(self, mode, config, custom_generate=custom_generate, trust_remote_code=trust_remote_code,
                   assistant_model=assistant_model, assistant_tokenizer=assistant_tokenizer, streamer=streamer)
        for name in UNSUPPORTED:
            if getattr(config, name) != DEFAULTS[name]:
                raise ConfigurationError(
                    f"generate(): {name}={getattr(config, name)!r} selects a decoding feature modelyard does not run "
                    f"(greedy, sampling, beam search, assisted decoding, group beam search, contrastive search, "
                    f"constrained beam search and classifier-free guidance are supported); leave {name} at its "
                    "default.")
        self._check_model_kwargs(model_kwargs)

        input_ids = self._prompt_ids(inputs, model_kwargs, config)
        device = input_ids.device
        batch_size = input_ids.shape[0]
        if mode == GenerationMode.ASSISTED_GENERATION and batch_size > 1:
            raise ConfigurationError(
                f"Assisted decoding (assistant_model / prompt_lookup_num_tokens) runs one prompt at a time, as in the "
                f"reference, but got a batch of {batch_size}; call generate() for each prompt.")
        embeds = model_kwargs.get("inputs_embeds")
        prompt_length = input_ids.shape[1] if input_ids.shape[1] > 0 or embeds is None else embeds.shape[1]
        explicit_pad = config.pad_token_id
        eos_tensor, pad = self._special_tokens(config, device)
        self._prepare_attention_mask(input_ids, model_kwargs, config, explicit_pad, eos_tensor)
        self._set_lengths(config, input_ids, prompt_length, embeds)
        if streamer is not None and config.num_beams > 1:
            raise ConfigurationError("A streamer follows one sequence: it cannot be used with beam search "
                                     "(num_beams > 1). Use num_beams=1, or drop the streamer.")

        forward_params, forward_varkw = _forward_parameters(self)
        if "use_cache" in forward_params or forward_varkw:
            model_kwargs["use_cache"] = config.use_cache
        for flag in ("output_attentions", "output_hidden_states"):
            if getattr(config, flag) and (flag in forward_params or forward_varkw):
                model_kwargs[flag] = True
        if config.use_cache and model_kwargs.get("logits_to_keep") is None and "logits_to_keep" in forward_params:
            model_kwargs["logits_to_keep"] = 1  # the prefill computes the last position's logits only
        processors = self._get_logits_processor(
            config, input_ids_seq_length=prompt_length if input_ids.shape[1] > 0 else 0,
            prefix_allowed_tokens_fn=prefix_allowed_tokens_fn,
            logits_processor=logits_processor or LogitsProcessorList(), device=device, eos_tensor=eos_tensor,
            negative_prompt_ids=negative_prompt_ids, negative_prompt_attention_mask=negative_prompt_attention_mask)
        criteria = self._get_stopping_criteria(config, stopping_criteria or StoppingCriteriaList(),
                                               tokenizer=tokenizer, eos_tensor=eos_tensor)

        expand = config.num_beams if config.num_beams > 1 else config.num_return_sequences
        if expand > 1:
            expanded, model_kwargs = self._expand_inputs_for_generation(expand, input_ids=input_ids, **model_kwargs)
            input_ids = input_ids if expanded is None else expanded
        if mode in (GenerationMode.ASSISTED_GENERATION, GenerationMode.CONTRASTIVE_SEARCH):
            prepare_rollback_cache(self, config, model_kwargs)
        self._prepare_cache(config, model_kwargs, batch_size * expand, input_ids)
        self._initial_cache_position(input_ids, model_kwargs)

        settings = _Settings()
        settings.eos, settings.pad = eos_tensor, pad
        settings.max_length = config.max_length
        settings.prompt_length = input_ids.shape[1]
        settings.do_sample = config.do_sample
        settings.return_dict = config.return_dict_in_generate
        settings.output_scores = config.return_dict_in_generate and config.output_scores
        settings.output_logits = config.return_dict_in_generate and bool(config.output_logits)
        settings.output_attentions = config.return_dict_in_generate and config.output_attentions
        settings.output_hidden_states = config.return_dict_in_generate and config.output_hidden_states
        if mode == GenerationMode.GROUP_BEAM_SEARCH:
            return group_beam_search(self, input_ids, processors, criteria, config, settings, model_kwargs)
        if mode == GenerationMode.CONSTRAINED_BEAM_SEARCH:
            return constrained_beam_search(self, input_ids, processors, criteria, config, settings, model_kwargs)
        if config.num_beams > 1:
            return self._beam_search(input_ids, processors, criteria, config, settings, model_kwargs)
        if streamer is not None:
            streamer.put(input_ids.cpu())
        if mode == GenerationMode.ASSISTED_GENERATION:
            drafter = candidate_generator(self, config, model_kwargs, processors, assistant_model, eos_tensor)
            return assisted_decoding(self, input_ids, processors, criteria, config, settings, model_kwargs, drafter,
                                     streamer)
        if mode == GenerationMode.CONTRASTIVE_SEARCH:
            return contrastive_search(self, input_ids, processors, criteria, config, settings, model_kwargs, streamer)
        return self._sample(input_ids, processors, criteria, settings, model_kwargs, streamer)

    # -- preparation steps ---------------------------------------------------------------------------------------
    def _prompt_ids(self, inputs: Any, model_kwargs: dict[str, Any], config: GenerationConfig) -> torch.Tensor:
        given_ids = model_kwargs.pop("input_ids", None)
        if inputs is not None and given_ids is not None:
            raise ConfigurationError("generate() got the prompt twice (inputs and input_ids=); pass one of them.")
        ids = inputs if inputs is not None else given_ids
        embeds = model_kwargs.get("inputs_embeds")
        if ids is not None and not isinstance(ids, torch.Tensor):
            raise ConfigurationError(
                f"generate() needs the prompt as a (batch, seq) tensor of token ids, got {type(ids).__name__}. "
                "Tokenize with return_tensors='pt' (tokenizer(texts, return_tensors='pt')).")
        if ids is None and embeds is not None:
            if not config.use_cache:
                raise ConfigurationError("Generating from inputs_embeds alone needs use_cache=True.")
            return torch.ones((embeds.shape[0], 0), dtype=torch.long, device=embeds.device)
        if ids is None:
            bos = config.bos_token_id
            if bos is None:
                raise ConfigurationError(
                    "generate() got no prompt and there is no bos_token_id to start from: pass input_ids (or set "
                    "bos_token_id in the generation config).")
            return torch.full((1, 1), bos, dtype=torch.long, device=self.device)
        if ids.dim() == 1:
            raise ConfigurationError(
                f"generate() needs a (batch, seq) tensor of token ids, got shape {tuple(ids.shape)}; add the batch "
                "dimension (input_ids[None]) or tokenize with return_tensors='pt'.")
        if ids.dim() != 2 or ids.dtype not in (torch.long, torch.int, torch.int32, torch.int16):
            raise ConfigurationError(
                f"generate() needs a (batch, seq) tensor of integer token ids, got shape {tuple(ids.shape)} and "
                f"dtype {ids.dtype}. Pass float embeddings as inputs_embeds= instead.")
        if ids.shape[0] == 0:
            raise ConfigurationError("generate() got an empty batch (input_ids of shape "
                                     f"{tuple(ids.shape)}): pass at least one prompt.")
        if ids.shape[1] == 0 and embeds is None:
            raise ConfigurationError("generate() got empty prompts (input_ids of shape "
                                     f"{tuple(ids.shape)}): pass at least one token per prompt, e.g. the bos token.")
        return ids.long()

    def _prepare_attention_mask(self, input_ids: torch.Tensor, model_kwargs: dict[str, Any],
                                config: GenerationConfig, explicit_pad: int | None,
                                eos_tensor: torch.Tensor | None) -> None:
        mask = model_kwargs.get("attention_mask")
        batch = input_ids.shape[0]
        if mask is None:
            if input_ids.shape[1] == 0:
                return
            if batch > 1 and explicit_pad is None:
                raise ConfigurationError(
                    f"generate() got {batch} prompts without an attention_mask and without a pad_token_id, so it "
                    "cannot tell padding from text. Pass the tokenizer's attention_mask (tokenizer(texts, "
                    "padding=True, return_tensors='pt') returns it) or set pad_token_id.")
            pad = config.pad_token_id
            pad_is_eos = eos_tensor is not None and pad is not None and bool((eos_tensor == pad).any())
            if pad is not None and not pad_is_eos and bool((input_ids == pad).any()):
                mask = input_ids.ne(pad).long()
            else:
                mask = torch.ones_like(input_ids)
            model_kwargs["attention_mask"] = mask
            return
        if not isinstance(mask, torch.Tensor) or mask.dim() != 2 or mask.shape[0] != batch:
            raise ConfigurationError(
                f"attention_mask must be a (batch, seq) tensor matching the prompts ({batch} rows), got "
                f"{getattr(mask, 'shape', type(mask).__name__)}.")
        if input_ids.shape[1] > 0 and mask.shape[1] != input_ids.shape[1] and model_kwargs.get("past_key_values") is None:
            raise ConfigurationError(
                f"attention_mask has {mask.shape[1]} columns but the prompts have {input_ids.shape[1]} tokens; pass "
                "the mask the tokenizer returned with these input_ids.")
        if batch > 1 and bool((mask[:, -1] == 0).any()):
            logger.warning("A decoder-only architecture is being used, but right-padding was detected! For correct "
                           "generation results, please set `padding_side='left'` when initializing the tokenizer.")

    def _set_lengths(self, config: GenerationConfig, input_ids: torch.Tensor, prompt_length: int,
                     embeds: torch.Tensor | None) -> None:
        counted = input_ids.shape[1]  # tokens the output sequences hold before the new ones
        if config.max_new_tokens is not None:
            config.max_length = config.max_new_tokens + counted
        elif counted == 0 and embeds is not None:
            config.max_length = max(config.max_length - prompt_length, 0)
        if config.max_length <= counted or config.max_length == 0:
            raise ConfigurationError(
                f"The prompt is {prompt_length} tokens long but max_length={config.max_length} leaves no room for new "
                f"tokens. Pass max_new_tokens=N (tokens to add) or a max_length above {prompt_length}.")
        limit = getattr(self.config, "max_position_embeddings", None)
        if isinstance(limit, int) and config.max_length > limit and (
                counted > limit):
            raise ConfigurationError(
                f"The prompt is {prompt_length} tokens long, more than the {limit} positions the model has "
                "(config.max_position_embeddings); shorten it (truncate when tokenizing).")

    @staticmethod
    def _expand_inputs_for_generation(expand_size: int = 1, is_encoder_decoder: bool = False,
                                      input_ids: torch.Tensor | None = None, **model_kwargs: Any
                                      ) -> tuple[torch.Tensor | None, dict[str, Any]]:
        """Repeat each row ``expand_size`` times (beams, or several samples per prompt)."""
        if expand_size == 1:
            return input_ids, model_kwargs
        for key, value in model_kwargs.items():
            if key != "cache_position" and isinstance(value, torch.Tensor):
                model_kwargs[key] = value.repeat_interleave(expand_size, dim=0)
        past = model_kwargs.get("past_key_values")
        if isinstance(past, Cache) and past.get_seq_length() > 0:
            past.batch_repeat_interleave(expand_size)
        if input_ids is not None:
            input_ids = input_ids.repeat_interleave(expand_size, dim=0)
        return input_ids, model_kwargs

    def _prepare_cache(self, config: GenerationConfig, model_kwargs: dict[str, Any], batch_size: int,
                       input_ids: torch.Tensor) -> None:
        if not config.use_cache:
            if model_kwargs.get("past_key_values") is not None:
                raise ConfigurationError("generate() got past_key_values with use_cache=False; drop one of them.")
            return
        past = model_kwargs.get("past_key_values")
        if past is not None:
            if config.cache_implementation is not None:
                raise ConfigurationError("generate() got both past_key_values and cache_implementation="
                                         f"{config.cache_implementation!r}; pass one of them.")
            if isinstance(past, (tuple, list)) and getattr(type(self), "_supports_cache_class", False):
                model_kwargs["past_key_values"] = DynamicCache.from_legacy_cache(tuple(past))
            return
        if config.cache_implementation == "static":
            model_kwargs["past_key_values"] = StaticCache(
                config=self.config, max_cache_len=config.max_length, max_batch_size=batch_size,
                dtype=self.dtype, device=input_ids.device)
        elif config.cache_implementation in ("dynamic", "dynamic_full") or getattr(
                type(self), "_supports_cache_class", False):
            model_kwargs["past_key_values"] = DynamicCache()
        # otherwise the model makes its own cache on the first step (older remote code keeps legacy tuples)

    def _initial_cache_position(self, input_ids: torch.Tensor, model_kwargs: dict[str, Any]) -> None:
        if model_kwargs.get("cache_position") is not None:
            return
        embeds = model_kwargs.get("inputs_embeds")
        length = embeds.shape[1] if embeds is not None and input_ids.shape[1] == 0 else input_ids.shape[1]
        past = model_kwargs.get("past_key_values")
        past_length = 0
        if past is not None:
            if isinstance(past, (tuple, list)):
                past_length = past[0][0].shape[2] if len(past) else 0
            elif hasattr(past, "get_seq_length"):
                past_length = int(past.get_seq_length())
        if embeds is not None and input_ids.shape[1] > 0:
            length = embeds.shape[1]
        model_kwargs["cache_position"] = torch.arange(past_length, length, dtype=torch.long, device=input_ids.device)

    # -- decoding loops ------------------------------------------------------------------------------------------
    def _step_logits(self, input_ids: torch.Tensor, model_kwargs: dict[str, Any]) -> tuple[Any, torch.Tensor]:
        model_inputs = self.prepare_inputs_for_generation(input_ids, **model_kwargs)
        outputs = self(**model_inputs, return_dict=True)
        if isinstance(outputs, (tuple, list)):  # older code returns (logits, past_key_values, ...)
            outputs = _TupleOutput(outputs)
        self._update_model_kwargs_for_generation(outputs, model_kwargs)
        full = outputs["logits"] if isinstance(outputs, dict) else outputs.logits
        logits = full[:, -1, :]
        if full.shape[1] > 1 or logits.dtype != torch.float32:
            # a copy: a view of the prefill's logits would keep the whole (batch, seq, vocab) tensor alive
            logits = logits.to(dtype=torch.float32, copy=True)
        return outputs, logits

    def _sample(self, input_ids: torch.Tensor, processors: LogitsProcessorList, criteria: StoppingCriteriaList,
                s: _Settings, model_kwargs: dict[str, Any], streamer: Any) -> Any:
        """Greedy decoding (argmax) or multinomial sampling, one token per step for every row."""
        scores_out: list[torch.Tensor] | None = [] if s.output_scores else None
        logits_out: list[torch.Tensor] | None = [] if s.output_logits else None
        attentions: list[Any] | None = [] if s.output_attentions else None
        hidden: list[Any] | None = [] if s.output_hidden_states else None
        # MaxLength and EOS are checked inline (cheaper); other criteria run as given
        extra = StoppingCriteriaList(c for c in criteria if type(c) not in (MaxLengthCriteria, EosTokenCriteria))
        max_length = s.max_length
        eos, pad = s.eos, s.pad
        single_eos = eos[0] if eos is not None and eos.numel() == 1 else None
        unfinished = torch.ones(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        tracks_rows = eos is not None or len(extra) > 0
        pad_tensor = torch.tensor(pad if pad is not None else 0, dtype=input_ids.dtype, device=input_ids.device)
        length = input_ids.shape[1]
        while True:
            outputs, logits = self._step_logits(input_ids, model_kwargs)
            scores = processors(input_ids, logits) if processors else logits
            if logits_out is not None:
                logits_out.append(logits.clone())
            if scores_out is not None:
                scores_out.append(scores.clone() if scores is logits else scores)
            if attentions is not None:
                attentions.append(getattr(outputs, "attentions", None))
            if hidden is not None:
                hidden.append(getattr(outputs, "hidden_states", None))
            del outputs
            if s.do_sample:
                next_tokens = torch.multinomial(torch.softmax(scores, dim=-1), num_samples=1).squeeze(1)
            else:
                next_tokens = torch.argmax(scores, dim=-1)
            if tracks_rows:
                next_tokens = torch.where(unfinished, next_tokens, pad_tensor)
            input_ids = torch.cat([input_ids, next_tokens[:, None]], dim=-1)
            if streamer is not None:
                streamer.put(next_tokens.cpu())
            length += 1
            if tracks_rows:
                if single_eos is not None:
                    unfinished &= next_tokens != single_eos
                elif eos is not None:
                    unfinished &= ~torch.isin(next_tokens, eos)
                if extra:
                    unfinished &= ~extra(input_ids, scores)
                if not bool(unfinished.any()):
                    break
            if length >= max_length:
                break
        if streamer is not None:
            streamer.end()
        if not s.return_dict:
            return input_ids
        return decoder_only_output(input_ids, scores=scores_out, logits=logits_out, attentions=attentions,
                                   hidden_states=hidden, past_key_values=model_kwargs.get("past_key_values"))

    def _beam_search(self, input_ids: torch.Tensor, processors: LogitsProcessorList, criteria: StoppingCriteriaList,
                     config: GenerationConfig, s: _Settings, model_kwargs: dict[str, Any]) -> Any:
        """Beam search (``do_sample=True``: beam sampling); see :func:`~modelyard.generation.beam_search.beam_search`."""
        return beam_search(self, input_ids, processors, criteria, config, s, model_kwargs)

    def compute_transition_scores(self, sequences: torch.Tensor, scores: tuple[torch.Tensor, ...],
                                  beam_indices: torch.Tensor | None = None, normalize_logits: bool = False
                                  ) -> torch.Tensor:
        """The score of each generated token at its step, ``(batch, new_tokens)`` (from ``output_scores``)."""
        if beam_indices is None:
            beam_indices = torch.arange(scores[0].shape[0], device=sequences.device).view(-1, 1)
            beam_indices = beam_indices.expand(-1, len(scores))
        stacked = torch.stack(scores).reshape(len(scores), -1).transpose(0, 1)
        if normalize_logits:
            stacked = stacked.reshape(-1, scores[0].shape[0], stacked.shape[-1])
            stacked = torch.nn.functional.log_softmax(stacked, dim=1).reshape(-1, stacked.shape[-1])
        missing = beam_indices < 0
        max_length = int((1 - missing.long()).sum(-1).max())
        beam_indices = beam_indices.clone()[:, :max_length]
        missing = missing[:, :max_length]
        beam_indices[missing] = 0
        vocab = scores[0].shape[-1]
        steps = sequences[:, -max_length:]
        flat = beam_indices * vocab + steps
        transition = stacked.gather(0, flat)
        transition[missing] = 0
        return transition


class _TupleOutput(dict):
    """A forward's tuple output read as ``(logits, past_key_values, ...)``."""

    def __init__(self, values: tuple[Any, ...] | list[Any]) -> None:
        super().__init__(logits=values[0], past_key_values=values[1] if len(values) > 1 else None)

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


class _PrefixConstrained:
    """``prefix_allowed_tokens_fn(batch_id, input_ids) -> allowed token ids``: everything else is banned."""

    def __init__(self, function: Any, num_beams: int) -> None:
        self.function = function
        self.num_beams = num_beams

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        mask = torch.full_like(scores, -float("inf"))
        rows = input_ids.view(-1, self.num_beams, input_ids.shape[-1])
        for batch_id, beams in enumerate(rows):
            for beam_id, sent in enumerate(beams):
                allowed = self.function(batch_id, sent)
                if not allowed:
                    raise ConfigurationError(
                        f"prefix_allowed_tokens_fn returned no allowed token for batch {batch_id}, beam {beam_id}: it "
                        "must allow at least one token.")
                mask[batch_id * self.num_beams + beam_id, allowed] = 0
        return scores + mask


def _merge(defaults: list[Any], custom: list[Any] | None, what: str) -> Any:
    """The defaults with the caller's list merged in: a custom one of the same class replaces the default."""
    if not custom:
        return defaults
    merged = type(defaults)()
    for default in defaults:
        replacement = next((c for c in custom if type(c) is type(default)), None)
        if replacement is not None and (what, type(replacement)) not in _WARNED_MERGES:
            _WARNED_MERGES.add((what, type(replacement)))  # once per type: assisted decoding merges every round
            logger.warning("A custom %s of type %s was passed to generate() and generate() also made one from its "
                           "settings; the custom one is used.", what, type(replacement).__name__)
        merged.append(replacement if replacement is not None else default)
    for item in custom:
        if not any(item is m for m in merged):
            merged.append(item)
    return merged


def add_generation_mixin_to_remote_model(model_class: type) -> type:
    """A remote class that defines ``prepare_inputs_for_generation`` (or its own ``generate``) but does not inherit
    :class:`GenerationMixin` gets it mixed in (as the reference's Auto classes do since 4.50), so ``generate()``
    works on custom code written before that change. The same class always gets the same subclass."""
    if issubclass(model_class, GenerationMixin):
        return model_class
    own_prepare = getattr(model_class, "prepare_inputs_for_generation", None) is not None
    own_generate = getattr(model_class, "generate", None) is not None
    if not (own_prepare or own_generate):
        return model_class
    cached = _MIXED_IN.get(model_class)
    if cached is None:
        namespace = {"__module__": model_class.__module__, "__qualname__": model_class.__qualname__,
                     "__doc__": model_class.__doc__}
        cached = type(model_class.__name__, (model_class, GenerationMixin), namespace)
        _MIXED_IN[model_class] = cached
    return cached


_MIXED_IN: weakref.WeakKeyDictionary[type, type] = weakref.WeakKeyDictionary()
_WARNED_MERGES: set[tuple[str, type]] = set()


__all__ = [
    "BeamSampleDecoderOnlyOutput",
    "BeamSearchDecoderOnlyOutput",
    "GenerateBeamDecoderOnlyOutput",
    "GenerateDecoderOnlyOutput",
    "GenerateOutput",
    "GenerationMixin",
    "GreedySearchDecoderOnlyOutput",
    "SampleDecoderOnlyOutput",
    "add_generation_mixin_to_remote_model",
]
