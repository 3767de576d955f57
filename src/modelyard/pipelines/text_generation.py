"""``text-generation``: continue prompts, or chats through the tokenizer's chat template, with ``generate()``.

A prompt gives ``[{"generated_text": prompt + continuation}]``; a chat (a list of ``{"role", "content"}``
messages) gives the conversation with the model's reply appended as an assistant message. Every keyword the
pipeline does not know is a generation setting (``max_new_tokens``, ``do_sample``, ``num_beams``,
``stop_strings``, ``streamer``, ...) passed to ``model.generate``. Batches are left-padded, so each prompt
continues right after its last token.
"""

from __future__ import annotations

import copy
import enum
import types
from collections.abc import Mapping
from typing import Any

import torch

from modelyard.errors import PipelineError
from modelyard.generation.configuration_utils import GenerationConfig
from modelyard.pipelines.base import Params, Piece, Pipeline
from modelyard.pipelines.inputs import KeyDataset

# The reference's defaults for free-form generation, under whatever the model's generation_config.json sets.
PIPELINE_DEFAULTS = {"max_new_tokens": 256, "do_sample": True, "temperature": 0.7}
_GLOBAL_MAX_LENGTH = 20  # GenerationConfig's own max_length default
_EXTRA = "generate_output:"  # the forward outputs that go into each result dict under their own name

NO_CHAT_TEMPLATE = (
    "Cannot use chat template functions because tokenizer.chat_template is not set and no template argument was "
    "passed! For information about writing templates and setting the tokenizer.chat_template attribute, please see "
    "the documentation at https://huggingface.co/docs/transformers/main/en/chat_templating"
)


class ReturnType(enum.Enum):
    TENSORS = 0
    NEW_TEXT = 1
    FULL_TEXT = 2


class Chat:
    """One conversation given to the pipeline: kept whole, so a list of messages is not read as a batch."""

    def __init__(self, messages: Any) -> None:
        messages = list(messages)
        for message in messages:
            if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
                raise PipelineError(
                    f"A chat is a list of {{'role': ..., 'content': ...}} messages; got {message!r:.80}. Give each "
                    "message a 'role' and a 'content' key."
                )
        if not messages:
            raise PipelineError("A chat needs at least one message; got an empty list.")
        self.messages = messages

    def __repr__(self) -> str:
        return f"Chat({self.messages!r})"


def _is_chat_item(item: Any) -> bool:
    return isinstance(item, (list, tuple, Mapping))


class TextGenerationPipeline(Pipeline):
    """``pipe("Once upon a time")`` -> ``[{"generated_text": "Once upon a time, ..."}]``.

    Options as the reference's: ``return_full_text`` (default True: the prompt and the continuation),
    ``return_text`` / ``return_tensors`` (``generated_token_ids`` instead of text), ``prefix`` (text put
    before every prompt), ``handle_long_generation="hole"`` (cut the prompt's start so the new tokens fit
    ``model_max_length``), ``continue_final_message`` (for chats; by default when the last message is the
    assistant's), ``clean_up_tokenization_spaces``, ``skip_special_tokens``, ``stop_sequence``, tokenizer
    options (``add_special_tokens``, ``truncation``, ``padding``, ``max_length``, ``tokenizer_encode_kwargs``),
    and every generation setting (``generation_config=`` included). Without settings of its own, the model
    generates with ``max_new_tokens=256, do_sample=True, temperature=0.7`` (its generation_config.json wins).
    """

    task = "text-generation"

    def __init__(self, model: Any, **kwargs: Any) -> None:
        if not callable(getattr(model, "generate", None)):
            raise PipelineError(
                f"{type(model).__name__} cannot serve 'text-generation': the task needs a causal language-model "
                "head with generate() (AutoModelForCausalLM)."
            )
        self.model = model
        self.tokenizer = kwargs.get("tokenizer")
        if self.tokenizer is None:
            raise PipelineError("'text-generation' needs a tokenizer; pass tokenizer=... (an object or an id).")
        self.generation_config = self._pipeline_generation_config(model, self.tokenizer)
        self.prefix = getattr(model.config, "prefix", None)
        super().__init__(model, **kwargs)
        if self.prefix and "prefix" not in self._defaults[0]:
            pre, fwd, _ = self._sanitize(prefix=self.prefix)
            self._defaults[0].update(pre)
            self._defaults[1].update(fwd)

    @staticmethod
    def _pipeline_generation_config(model: Any, tokenizer: Any) -> GenerationConfig:
        """The pipeline's own copy (calls never change the model's): the reference's defaults, under the
        model's ``generation_config`` values, with the tokenizer's pad token when the model names none."""
        config = GenerationConfig(**PIPELINE_DEFAULTS)
        model_config = getattr(model, "generation_config", None)
        fill = getattr(model, "_fill_model_defaults", None)
        if model_config is not None and fill is not None:
            fill(config, model_config, True)
        # A model that sets its own max_length keeps it rather than the pipeline's 256 new tokens.
        if config.max_new_tokens == PIPELINE_DEFAULTS["max_new_tokens"] and config.max_length not in (
                None, _GLOBAL_MAX_LENGTH):
            config.max_new_tokens = None
        if config.pad_token_id is None and getattr(tokenizer, "pad_token_id", None) is not None:
            config.pad_token_id = tokenizer.pad_token_id
        return copy.deepcopy(config)

    # -- options -------------------------------------------------------------------------------------------
    def _sanitize(self, *, return_full_text: bool | None = None, return_tensors: bool | None = None,
                  return_text: bool | None = None, return_type: ReturnType | None = None,
                  clean_up_tokenization_spaces: bool | None = None, prefix: str | None = None,
                  handle_long_generation: str | None = None, stop_sequence: str | None = None,
                  truncation: bool | str | None = None, max_length: int | None = None,
                  continue_final_message: bool | None = None, skip_special_tokens: bool | None = None,
                  tokenizer_encode_kwargs: dict[str, Any] | None = None,
                  **generate_kwargs: Any) -> tuple[Params, Params, Params]:
        pre: Params = {}
        add_special_tokens = False
        if "add_special_tokens" in generate_kwargs:
            add_special_tokens = pre["add_special_tokens"] = generate_kwargs.pop("add_special_tokens")
        if "padding" in generate_kwargs:
            pre["padding"] = generate_kwargs.pop("padding")
        if truncation is not None:
            pre["truncation"] = truncation
        if max_length is not None:  # both the tokenizer's and generate()'s, as in the reference
            pre["max_length"] = generate_kwargs["max_length"] = max_length
        if prefix is not None:
            pre["prefix"] = prefix
        if prefix:
            prefix_ids = self.tokenizer(prefix, add_special_tokens=add_special_tokens)["input_ids"]
            generate_kwargs["prefix_length"] = len(prefix_ids)
        if handle_long_generation is not None:
            if handle_long_generation != "hole":
                raise PipelineError(
                    f"handle_long_generation={handle_long_generation!r} is not a strategy; use None or 'hole' (cut "
                    "the prompt's start so the new tokens fit the model's maximum length)."
                )
            pre["handle_long_generation"] = handle_long_generation
            for key in ("max_new_tokens", "max_length"):
                if key in generate_kwargs:
                    pre[f"hole_{key}"] = generate_kwargs[key]
        if continue_final_message is not None:
            pre["continue_final_message"] = continue_final_message
        if tokenizer_encode_kwargs is not None:
            pre["tokenizer_encode_kwargs"] = tokenizer_encode_kwargs
        if stop_sequence is not None:
            generate_kwargs["eos_token_id"] = self.tokenizer.encode(stop_sequence, add_special_tokens=False)
        config = generate_kwargs.get("generation_config")
        if config is not None and not isinstance(config, GenerationConfig):
            raise PipelineError(
                f"generation_config must be a GenerationConfig, got {type(config).__name__}; build one with "
                "GenerationConfig(**settings) or pass the settings as keywords."
            )

        post: Params = {}
        if return_full_text is not None and return_type is None:
            if return_text is not None:
                raise PipelineError("return_text and return_full_text cannot both be given; pass one of them.")
            if return_tensors is not None:
                raise PipelineError("return_full_text and return_tensors cannot both be given; pass one of them.")
            return_type = ReturnType.FULL_TEXT if return_full_text else ReturnType.NEW_TEXT
        if return_tensors is not None and return_type is None:
            if return_text is not None:
                raise PipelineError("return_text and return_tensors cannot both be given; pass one of them.")
            return_type = ReturnType.TENSORS
        if return_type is not None:
            post["return_type"] = ReturnType(return_type)
        if clean_up_tokenization_spaces is not None:
            post["clean_up_tokenization_spaces"] = clean_up_tokenization_spaces
        if continue_final_message is not None:
            post["continue_final_message"] = continue_final_message
        if skip_special_tokens is not None:
            post["skip_special_tokens"] = skip_special_tokens
        return pre, generate_kwargs, post

    # -- running -------------------------------------------------------------------------------------------
    # the reference's name for the first argument; batch_size travels in **options to Pipeline.__call__
    def __call__(self, text_inputs: Any = None, **options: Any) -> Any:  # type: ignore[override]  # see above
        """Continue one prompt or chat (a list of result dicts back), a list of them (a list of lists), or a
        generator / dataset of them (an iterator)."""
        if isinstance(text_inputs, Chat):
            return super().__call__(text_inputs, **options)
        if isinstance(text_inputs, (list, tuple)):
            if not text_inputs:
                return []
            first = text_inputs[0]
            if isinstance(first, Mapping):
                return super().__call__(Chat(text_inputs), **options)
            if _is_chat_item(first):
                return super().__call__([Chat(chat) for chat in text_inputs], **options)
            return super().__call__(list(text_inputs), **options)
        if isinstance(text_inputs, (types.GeneratorType, KeyDataset)):
            return super().__call__(
                (Chat(item) if _is_chat_item(item) else item for item in text_inputs), **options)
        return super().__call__(text_inputs, **options)

    def preprocess(self, item: Any, *, prefix: str = "", handle_long_generation: str | None = None,
                   add_special_tokens: bool | None = None, truncation: bool | str | None = None,
                   padding: bool | str | None = None, max_length: int | None = None,
                   continue_final_message: bool | None = None,
                   tokenizer_encode_kwargs: dict[str, Any] | None = None,
                   hole_max_new_tokens: int | None = None, hole_max_length: int | None = None) -> list[Piece]:
        options = {key: value for key, value in (
            ("add_special_tokens", add_special_tokens), ("truncation", truncation), ("padding", padding),
            ("max_length", max_length)) if value is not None}
        options.update(tokenizer_encode_kwargs or {})
        if isinstance(item, Chat):
            options.pop("add_special_tokens", None)  # the template places the special tokens
            if getattr(self.tokenizer, "chat_template", None) is None and "chat_template" not in options:
                raise PipelineError(
                    f"{NO_CHAT_TEMPLATE}. This tokenizer has no chat template: set tokenizer.chat_template (a Jinja "
                    "template) or pass prompts as strings."
                )
            if continue_final_message is None:
                continue_final_message = item.messages[-1]["role"] == "assistant"
            encoded = self.tokenizer.apply_chat_template(
                item.messages, add_generation_prompt=not continue_final_message,
                continue_final_message=continue_final_message, return_dict=True, **options)
        elif isinstance(item, str):
            encoded = self.tokenizer(prefix + item, **options)
        else:
            raise PipelineError(
                f"text-generation reads a prompt (a string) or a chat (a list of {{'role', 'content'}} messages); "
                f"got {type(item).__name__} {item!r:.80}."
            )
        input_ids = list(encoded["input_ids"])
        attention_mask = list(encoded.get("attention_mask") or [1] * len(input_ids))
        if handle_long_generation == "hole":
            input_ids, attention_mask = self._hole(input_ids, attention_mask, hole_max_new_tokens, hole_max_length)
        return [Piece({"input_ids": input_ids, "attention_mask": attention_mask}, {"prompt_text": item})]

    def _hole(self, input_ids: list[int], attention_mask: list[int], max_new_tokens: int | None,
              max_length: int | None) -> tuple[list[int], list[int]]:
        """Keep the prompt's end so that prompt + new tokens fit ``model_max_length``."""
        length = len(input_ids)
        if max_new_tokens is not None:
            new_tokens = max_new_tokens
        else:
            new_tokens = (max_length or self.generation_config.max_length) - length
            if new_tokens < 0:
                raise PipelineError(
                    f"handle_long_generation='hole' cannot tell how many tokens to generate: max_length "
                    f"{max_length or self.generation_config.max_length} is shorter than the prompt ({length} tokens). "
                    "Pass max_new_tokens=..."
                )
        limit = self.tokenizer.model_max_length
        if length + new_tokens > limit:
            keep = limit - new_tokens
            if keep <= 0:
                raise PipelineError(
                    f"handle_long_generation='hole' cannot make room for {new_tokens} new tokens: the model takes "
                    f"{limit} tokens in all. Ask for fewer new tokens."
                )
            input_ids, attention_mask = input_ids[-keep:], attention_mask[-keep:]
        return input_ids, attention_mask

    def collate(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        """Left padding: every prompt ends at the last column, where generation continues it."""
        longest = max(len(row["input_ids"]) for row in rows)
        pad = self._pad_token_id() if any(len(row["input_ids"]) != longest for row in rows) else 0
        ids = [[pad] * (longest - len(row["input_ids"])) + row["input_ids"] for row in rows]
        mask = [[0] * (longest - len(row["attention_mask"])) + row["attention_mask"] for row in rows]
        return {"input_ids": torch.tensor(ids, dtype=torch.long, device=self.device),
                "attention_mask": torch.tensor(mask, dtype=torch.long, device=self.device)}

    def _pad_token_id(self) -> int:
        """The tokenizer's pad token, else the end-of-sequence token (what GPT-2-style models pad with)."""
        for candidate in (getattr(self.tokenizer, "pad_token_id", None), self.generation_config.pad_token_id,
                          getattr(self.tokenizer, "eos_token_id", None), self.generation_config.eos_token_id):
            if isinstance(candidate, (list, tuple)):
                candidate = candidate[0] if candidate else None
            if candidate is not None:
                if self.generation_config.pad_token_id is None:
                    self.generation_config.pad_token_id = int(candidate)
                return int(candidate)
        raise PipelineError(
            "Prompts of different lengths need padding, but neither the tokenizer nor the model names a pad or "
            "end-of-sequence token. Set one (pipe.tokenizer.pad_token = ...) or use batch_size=1."
        )

    def _forward(self, batch: dict[str, torch.Tensor], *, prefix_length: int = 0,
                 **generate_kwargs: Any) -> Mapping[str, Any]:
        prompt = batch["input_ids"]
        input_ids: torch.Tensor | None = prompt
        attention_mask: torch.Tensor | None = batch.get("attention_mask")
        rows = prompt.shape[0]
        if prompt.shape[1] == 0:  # an empty prompt: generate from the start token
            input_ids = attention_mask = None
            rows = 1
        config = generate_kwargs.get("generation_config")
        if prefix_length > 0:  # the prefix does not count against a max_length the user gave
            if "max_new_tokens" not in generate_kwargs and (config is None or config.max_new_tokens is None):
                base = generate_kwargs.get("max_length") or self.generation_config.max_length
                generate_kwargs["max_length"] = base + prefix_length
            if "min_new_tokens" not in generate_kwargs and (config is None or config.min_new_tokens is None) \
                    and "min_length" in generate_kwargs:
                generate_kwargs["min_length"] += prefix_length
        generate_kwargs.setdefault("generation_config", self.generation_config)
        generate_kwargs.setdefault("tokenizer", self.tokenizer)  # for stop_strings
        output = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **generate_kwargs)
        sequences = output if isinstance(output, torch.Tensor) else output.sequences
        per_row = sequences.shape[0] // rows
        result = {"generated_sequence": sequences.reshape(rows, per_row, *sequences.shape[1:]),
                  "input_ids": input_ids if input_ids is not None else torch.zeros(rows, 0, dtype=torch.long)}
        if not isinstance(output, torch.Tensor):  # return_dict_in_generate=True: per-sequence extras too
            result.update(self._per_sequence_outputs(output, rows, per_row))
        return result

    @staticmethod
    def _per_sequence_outputs(output: Mapping[str, Any], rows: int, per_row: int) -> dict[str, torch.Tensor]:
        """The outputs with one entry per returned sequence (``sequences_scores``, ``beam_indices``, and the
        per-step ``scores`` / ``logits`` stacked to (sequence, step, ...)), grouped by prompt as the
        sequences are; each result dict gets its sequence's values under the output's name."""
        extras = {}
        count = rows * per_row
        for key, value in output.items():
            if key in ("sequences", "past_key_values") or value is None:
                continue
            if isinstance(value, tuple) and value and isinstance(value[0], torch.Tensor) and len(value[0]) == count:
                value = torch.stack(value).swapaxes(0, 1)
            if isinstance(value, torch.Tensor) and value.shape[0] == count:
                extras[_EXTRA + key] = value.reshape(rows, per_row, *value.shape[1:])
        return extras

    def postprocess(self, outputs: list[dict[str, Any]], *, return_type: ReturnType = ReturnType.FULL_TEXT,
                    clean_up_tokenization_spaces: bool = True, continue_final_message: bool | None = None,
                    skip_special_tokens: bool | None = None) -> list[dict[str, Any]]:
        out = outputs[0]
        sequences = out["generated_sequence"][0].tolist()
        input_ids = out["input_ids"][0].tolist()
        prompt_text = out["prompt_text"]
        skip = True if skip_special_tokens is None else skip_special_tokens
        decode_options = {"skip_special_tokens": skip, "clean_up_tokenization_spaces": clean_up_tokenization_spaces}
        prompt_length = len(self.tokenizer.decode(input_ids, **decode_options)) if input_ids else 0
        extras = {key[len(_EXTRA):]: value[0] for key, value in out.items() if key.startswith(_EXTRA)}
        records = []
        for index, sequence in enumerate(sequences):
            if return_type == ReturnType.TENSORS:
                records.append({"generated_token_ids": sequence})
                continue
            # The new text is what the decoded sequence adds past the decoded prompt (so a word the prompt's
            # last token began keeps its continuation).
            new_text = self.tokenizer.decode(sequence, **decode_options)[prompt_length:]
            if return_type == ReturnType.NEW_TEXT:
                records.append({"generated_text": new_text})
            elif isinstance(prompt_text, Chat):
                records.append({"generated_text": self._extend_chat(prompt_text, new_text, continue_final_message)})
            else:
                records.append({"generated_text": prompt_text + new_text})
            records[-1].update({key: value[index].tolist() for key, value in extras.items()})
        return records

    @staticmethod
    def _extend_chat(chat: Chat, text: str, continue_final_message: bool | None) -> list[dict[str, Any]]:
        messages = list(chat.messages)
        if continue_final_message is None:
            continue_final_message = messages[-1]["role"] == "assistant"
        if continue_final_message:
            last = messages[-1]
            return [*messages[:-1], {"role": last["role"], "content": last["content"] + text}]
        return [*messages, {"role": "assistant", "content": text}]
