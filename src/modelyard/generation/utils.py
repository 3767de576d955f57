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
- ``past_key_values``: a :class:`~modelyard.generation.caches.Cache` (``DynamicCache`` by default,
  ``StaticCache`` when ``cache_implementation="static"``). Each attention layer calls
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
