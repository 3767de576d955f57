"""Chat templates: rendering conversations with a tokenizer's Jinja template, in a sandbox.

A template comes from ``tokenizer_config.json`` (``chat_template``: one string, or a list of named
templates), from ``chat_template.jinja`` (plus ``additional_chat_templates/<name>.jinja``), or from the call.
It renders in Jinja2's ``ImmutableSandboxedEnvironment`` (no attribute access to internals, no mutation of
the inputs) with ``trim_blocks``/``lstrip_blocks``, the ``loopcontrols`` extension, a ``{% generation %}``
block that records where assistant text lands, and the helpers templates written for the reference expect:
``raise_exception(message)``, ``strftime_now(format)`` and a ``tojson`` filter that keeps non-ASCII text.
Jinja2 is imported only when a template is rendered.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from copy import deepcopy
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelyard.errors import TokenizerError

logger = logging.getLogger(__name__)

CHAT_TEMPLATE_FILE = "chat_template.jinja"
CHAT_TEMPLATE_DIR = "additional_chat_templates"
_CONTINUE_TAG = "CONTINUE_FINAL_MESSAGE_TAG "
_GENERATION_BLOCK = re.compile(r"\{\%-?\s*generation\s*-?\%\}")


def _tojson(value: Any, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:  # fmt: skip
    # Jinja's own tojson escapes HTML characters, which would change the prompt text.
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def _strftime_now(format: str) -> str:
    return datetime.now().strftime(format)


@functools.lru_cache(maxsize=64)
def compile_template(source: str) -> Any:
    """The compiled template (cached by its text)."""
    try:
        import jinja2
        from jinja2.ext import Extension, loopcontrols
        from jinja2.sandbox import ImmutableSandboxedEnvironment
    except ImportError as err:
        raise TokenizerError("Chat templates need Jinja2: pip install 'jinja2>=3.1'.") from err

    class GenerationTracker(Extension):
        """``{% generation %}...{% endgeneration %}``: renders its body and, when tracking, records its span."""

        tags = {"generation"}  # noqa: RUF012

        def __init__(self, environment: Any) -> None:
            super().__init__(environment)
            environment.extend(track_generation=self.track)
            self._blocks: list[str] | None = None
            self._spans: list[tuple[int, int]] | None = None

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_render_block"), [], [], body).set_lineno(lineno)

        def _render_block(self, caller: Callable[[], str]) -> str:
            text = caller()
            if self._blocks is not None and self._spans is not None:
                start = sum(len(block) for block in self._blocks)
                self._spans.append((start, start + len(text)))
            return text

        @contextmanager
        def track(self, blocks: list[str], spans: list[tuple[int, int]]) -> Any:
            self._blocks, self._spans = blocks, spans
            try:
                yield
            finally:
                self._blocks, self._spans = None, None

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    environment = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTracker, loopcontrols]
    )
    environment.filters["tojson"] = _tojson
    environment.globals["raise_exception"] = raise_exception
    environment.globals["strftime_now"] = _strftime_now
    try:
        return environment.from_string(source)
    except jinja2.exceptions.TemplateSyntaxError as err:
        raise TokenizerError(f"The chat template is not valid Jinja (line {err.lineno}): {err.message}.") from err


def _tool_schemas(tools: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    if tools is None:
        return None
    schemas = []
    for tool in tools:
        if isinstance(tool, Mapping):
            schemas.append(dict(tool))
        elif callable(tool):
            raise TokenizerError(
                f"Tool {getattr(tool, '__name__', tool)!r} is a function; pass its JSON schema instead "
                '({"type": "function", "function": {"name": ..., "description": ..., "parameters": {...}}}).'
            )
        else:
            raise TokenizerError(f"A tool must be a JSON schema (a dict), got {type(tool).__name__}: {tool!r:.80}.")
    return schemas


def _mark_final_message(chat: list[Any]) -> tuple[list[Any], str]:
    """A copy of ``chat`` whose last text gets a tag, so the render can be cut right after it."""
    chat = deepcopy(list(chat))
    content = chat[-1]["content"]
    if isinstance(content, (list, tuple)):
        for block in reversed(content):
            if "text" in block:
                final = block["text"]
                block["text"] = final + _CONTINUE_TAG
                return chat, final
        raise TokenizerError("continue_final_message=True, but the final message has no text block to continue.")
    chat[-1]["content"] = content + _CONTINUE_TAG
    return chat, content


def _cut_at_tag(rendered: str, final: str) -> str:
    tag = _CONTINUE_TAG.strip()
    if final.strip() not in rendered or tag not in rendered:
        raise TokenizerError(
            "continue_final_message=True, but the final message does not appear in the rendered chat: the "
            "template dropped or changed part of it. Check that the template and the final message fit together."
        )
    position = rendered.rindex(tag)
    if rendered[position : position + len(_CONTINUE_TAG)] == _CONTINUE_TAG:
        return rendered[:position]
    return rendered[:position].rstrip()  # the template trimmed the message's trailing space


def render(
    conversations: Sequence[Any],
    *,
    template: str,
    tools: Sequence[Any] | None = None,
    documents: Sequence[Any] | None = None,
    add_generation_prompt: bool = False,
    continue_final_message: bool = False,
    track_generation: bool = False,
    **template_kwargs: Any,
) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """Render each conversation; returns the texts and, with ``track_generation``, the assistant spans."""
    if track_generation and not _GENERATION_BLOCK.search(template):
        logger.warning("return_assistant_tokens_mask=True, but the chat template has no {%% generation %%} block.")
    compiled = compile_template(template)
    schemas = _tool_schemas(tools)
    if documents is not None and not all(isinstance(document, Mapping) for document in documents):
        raise TokenizerError("documents must be a list of dicts (e.g. with 'title' and 'text' keys).")
    rendered, spans = [], []
    for chat in conversations:
        messages = getattr(chat, "messages", chat)
        final = ""
        if continue_final_message:
            messages, final = _mark_final_message(messages)
        context = dict(template_kwargs, messages=messages, tools=schemas, documents=documents,
                       add_generation_prompt=add_generation_prompt)  # fmt: skip
        # A template's raise_exception surfaces as jinja2's TemplateError, as in the reference.
        if track_generation:
            blocks: list[str] = []
            chat_spans: list[tuple[int, int]] = []
            with compiled.environment.track_generation(blocks, chat_spans):
                for block in compiled.generate(**context):
                    blocks.append(block)
            text = "".join(blocks)
            spans.append(chat_spans)
        else:
            text = compiled.render(**context)
        if continue_final_message:
            text = _cut_at_tag(text, final)
        rendered.append(text)
    return rendered, spans


# ---------------------------------------------------------------------------------------------------- files
def read_template_files(read: Callable[[str], Path | None], extra_names: Sequence[str]) -> str | dict[str, str] | None:
    """Templates saved as files: ``chat_template.jinja`` (the default) and ``additional_chat_templates/*``.

    ``read(name)`` gives the local path of a file of the folder or repository, or ``None``.
    """
    templates: dict[str, str] = {}
    default = read(CHAT_TEMPLATE_FILE)
    if default is not None:
        templates["default"] = default.read_text(encoding="utf-8")
    for name in extra_names:
        path = read(f"{CHAT_TEMPLATE_DIR}/{name}.jinja")
        if path is not None:
            templates[name] = path.read_text(encoding="utf-8")
    if not templates:
        return None
    if list(templates) == ["default"]:
        return templates["default"]
    return templates


def save_templates(
    chat_template: str | dict[str, str] | None, directory: Path, config: dict[str, Any], prefix: str, *, as_files: bool
) -> list[str]:
    """Write the templates as the reference 4.57 does; updates ``config`` (tokenizer_config) in place.

    ``as_files=True`` (the default of ``save_pretrained``): ``chat_template.jinja`` holds the single or the
    ``default`` template and ``additional_chat_templates/<name>.jinja`` the other named ones, and the config
    keeps none. ``as_files=False``: the config holds the string, or a list of ``{"name", "template"}``.
    """
    written: list[str] = []
    config.pop("chat_template", None)
    if chat_template is None:
        return written
    if not as_files:
        if isinstance(chat_template, dict):
            config["chat_template"] = [{"name": name, "template": text} for name, text in chat_template.items()]
        else:
            config["chat_template"] = chat_template
        return written
    named = chat_template if isinstance(chat_template, dict) else {"default": chat_template}
    for name, text in named.items():
        if name == "default":
            path = directory / (prefix + CHAT_TEMPLATE_FILE)
        else:
            folder = directory / (prefix + CHAT_TEMPLATE_DIR)
            folder.mkdir(exist_ok=True)
            path = folder / f"{name}.jinja"
        path.write_text(text, encoding="utf-8")
        written.append(str(path))
    return written


class ChatTemplateMixin:
    """``apply_chat_template`` and friends; expects a tokenizer's ``chat_template``, ``special_tokens_map``
    and ``__call__`` (a processor that forwards those gets the same behaviour)."""

    chat_template: str | dict[str, str] | None

    if TYPE_CHECKING:  # given by the tokenizer (or processor) this mixin is part of
        @property
        def special_tokens_map(self) -> dict[str, str | list[str]]: ...

        def __call__(self, *args: Any, **kwargs: Any) -> Any: ...

    def get_chat_template(self, chat_template: str | None = None, tools: Sequence[Any] | None = None) -> str:
        """The template text to use: ``chat_template`` itself or a name of the tokenizer's named templates,
        else ``tool_use`` (when tools are given) or ``default`` of named templates, else the single template."""
        own = self.chat_template
        if isinstance(own, dict):
            if chat_template is not None and chat_template in own:
                return own[chat_template]
            if chat_template is None:
                if tools is not None and "tool_use" in own:
                    return own["tool_use"]
                if "default" in own:
                    return own["default"]
                raise TokenizerError(
                    "This tokenizer has several chat templates and none is named 'default'; pass chat_template=<a "
                    f"template or one of the names {sorted(own)}>."
                )
            return chat_template
        if chat_template is not None:
            return chat_template
        if own is None:
            raise TokenizerError(
                "Cannot apply a chat template: tokenizer.chat_template is not set and no chat_template argument was "
                "passed. Set tokenizer.chat_template to a Jinja template (or pass chat_template=...)."
            )
        return own

    def apply_chat_template(
        self,
        conversation: Sequence[Any],
        *,
        chat_template: str | None = None,
        tools: Sequence[Any] | None = None,
        documents: Sequence[Any] | None = None,
        add_generation_prompt: bool = False,
        continue_final_message: bool = False,
        tokenize: bool = True,
        padding: bool | str = False,
        truncation: bool = False,
        max_length: int | None = None,
        return_tensors: str | None = None,
        return_dict: bool = False,
        return_assistant_tokens_mask: bool = False,
        tokenizer_kwargs: dict[str, Any] | None = None,
        **template_kwargs: Any,
    ) -> Any:
        """Render a conversation (a list of ``{"role", "content"}`` messages) or a batch of them with the chat
        template, and tokenize it unless ``tokenize=False``.

        ``add_generation_prompt`` appends the header that opens the assistant's turn; ``continue_final_message``
        ends the text right after the last message instead, so the model continues it. ``tools`` (JSON schemas)
        and ``documents`` are passed to the template, as are the special tokens and any other keyword
        (``template_kwargs``). Returns the text(s), the ids, or with ``return_dict=True`` the ``BatchEncoding``
        (with ``assistant_masks`` when ``return_assistant_tokens_mask=True``: 1 on tokens a ``{% generation %}``
        block produced).
        """
        if return_dict and not tokenize:
            raise TokenizerError("return_dict=True needs tokenize=True: there is no encoding of an untokenized text.")
        if return_assistant_tokens_mask and not return_dict:
            raise TokenizerError("return_assistant_tokens_mask=True needs return_dict=True (the mask is a field).")
        if continue_final_message and add_generation_prompt:
            raise TokenizerError(
                "continue_final_message and add_generation_prompt cannot both be set: the first continues the last "
                "message, the second opens a new assistant turn. Pick one."
            )
        if continue_final_message and return_assistant_tokens_mask:
            raise TokenizerError("continue_final_message cannot be combined with return_assistant_tokens_mask.")
        template = self.get_chat_template(chat_template, tools)
        batched = isinstance(conversation, (list, tuple)) and bool(conversation) and (
            isinstance(conversation[0], (list, tuple)) or hasattr(conversation[0], "messages")
        )
        conversations = list(conversation) if batched else [conversation]
        context = {**self.special_tokens_map, **template_kwargs}
        texts, spans = render(
            conversations, template=template, tools=tools, documents=documents,
            add_generation_prompt=add_generation_prompt, continue_final_message=continue_final_message,
            track_generation=return_assistant_tokens_mask, **context,
        )  # fmt: skip
        rendered: str | list[str] = texts if batched else texts[0]
        if not tokenize:
            return rendered
        encoded = self(
            rendered, padding=padding, truncation=truncation, max_length=max_length, add_special_tokens=False,
            return_tensors=return_tensors, **(tokenizer_kwargs or {}),
        )  # fmt: skip
        if not return_dict:
            return encoded["input_ids"]
        if return_assistant_tokens_mask:
            encoded["assistant_masks"] = _assistant_masks(encoded, spans, batched or bool(return_tensors))
            if not batched and not return_tensors:
                encoded["assistant_masks"] = encoded["assistant_masks"][0]
            if return_tensors:
                encoded.convert_to_tensors(tensor_type=return_tensors)
        return encoded

    def encode_message_with_chat_template(
        self, message: dict[str, Any], conversation_history: list[dict[str, Any]] | None = None, **kwargs: Any
    ) -> list[int]:
        """The ids one message adds to a conversation (its render after the history, minus the history's)."""
        if "add_generation_prompt" in kwargs:
            raise TokenizerError("encode_message_with_chat_template does not take add_generation_prompt.")
        if not conversation_history:
            return self.apply_chat_template([message], add_generation_prompt=False, tokenize=True, **kwargs)
        full = self.apply_chat_template([*conversation_history, message], add_generation_prompt=False, tokenize=True,
                                        **kwargs)  # fmt: skip
        prefix = self.apply_chat_template(conversation_history, add_generation_prompt=False, tokenize=True, **kwargs)
        return full[len(prefix):]


def _assistant_masks(encoded: Any, spans: list[list[tuple[int, int]]], rows_batched: bool) -> list[list[int]]:
    """Per row, 1 on the tokens that cover characters of a ``{% generation %}`` block."""
    rows = encoded["input_ids"] if rows_batched else [encoded["input_ids"]]
    masks = []
    for row, (ids, row_spans) in enumerate(zip(rows, spans)):
        mask = [0] * len(ids)
        for start_char, end_char in row_spans:
            start = encoded.char_to_token(row, start_char)
            end = encoded.char_to_token(row, end_char - 1)
            if start is None:  # cut off by truncation
                break
            for index in range(start, end + 1 if end else len(ids)):
                mask[index] = 1
        masks.append(mask)
    return masks
