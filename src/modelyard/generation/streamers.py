"""Streamers: ``generate(..., streamer=...)`` hands them the prompt, then each new token, as they come.

A streamer has ``put(token_ids)`` (called with the prompt first, then with each step's tokens) and ``end()``.
:class:`TextStreamer` writes the text to standard output as soon as whole words are decoded;
:class:`TextIteratorStreamer` queues it for another thread to iterate over (``for text in streamer``) while
``generate()`` runs. Both stream one sequence (batch size 1), as the reference's do.
"""

from __future__ import annotations

import sys
from queue import Queue
from typing import Any


class BaseStreamer:
    """Base class: ``put(value)`` receives token ids, ``end()`` closes the stream."""

    def put(self, value: Any) -> None:
        raise NotImplementedError

    def end(self) -> None:
        raise NotImplementedError


def _is_cjk(codepoint: int) -> bool:
    """CJK ideographs are words of their own: text ending in one can be shown at once."""
    return any(low <= codepoint <= high for low, high in (
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


class TextStreamer(BaseStreamer):
    """Decode the tokens as they arrive and write each completed word to standard output.

    ``skip_prompt=True`` leaves the prompt out; ``decode_kwargs`` go to ``tokenizer.decode`` (e.g.
    ``skip_special_tokens=True``). Text is held back until a space, a newline or a CJK character ends it, since a
    word's later tokens can change how its start decodes.
    """

    def __init__(self, tokenizer: Any, skip_prompt: bool = False, **decode_kwargs: Any) -> None:
        self.tokenizer = tokenizer
        self.skip_prompt = skip_prompt
        self.decode_kwargs = decode_kwargs
        self.token_cache: list[int] = []
        self.print_len = 0
        self.next_tokens_are_prompt = True

    def put(self, value: Any) -> None:
        if len(value.shape) > 1:
            if value.shape[0] > 1:
                raise ValueError(
                    f"{type(self).__name__} streams one sequence, but got a batch of {value.shape[0]}: generate one "
                    "prompt at a time with a streamer (and num_beams=1)."
                )
            value = value[0]
        if self.skip_prompt and self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return
        self.next_tokens_are_prompt = False
        self.token_cache.extend(value.tolist())
        text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
        if text.endswith("\n"):
            printable = text[self.print_len:]
            self.token_cache = []
            self.print_len = 0
        elif text and _is_cjk(ord(text[-1])):
            printable = text[self.print_len:]
            self.print_len += len(printable)
        else:
            printable = text[self.print_len: text.rfind(" ") + 1]
            self.print_len += len(printable)
        self.on_finalized_text(printable)

    def end(self) -> None:
        """Flush what is held back, and end the stream (a newline for the standard-output streamer)."""
        printable = ""
        if self.token_cache:
            printable = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)[self.print_len:]
        self.token_cache = []
        self.print_len = 0
        self.next_tokens_are_prompt = True
        self.on_finalized_text(printable, stream_end=True)

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        """Write ``text`` (and a newline at the end of the stream) to standard output; override to send it
        elsewhere."""
        sys.stdout.write(text + ("\n" if stream_end else ""))
        sys.stdout.flush()


class TextIteratorStreamer(TextStreamer):
    """Queue the text for iteration in another thread: ``for text in streamer`` yields pieces until ``generate()``
    ends. ``timeout`` (seconds) bounds each wait; a wait past it raises ``queue.Empty``."""

    def __init__(self, tokenizer: Any, skip_prompt: bool = False, timeout: float | None = None,
                 **decode_kwargs: Any) -> None:
        super().__init__(tokenizer, skip_prompt, **decode_kwargs)
        self.text_queue: Queue[Any] = Queue()
        self.stop_signal = None
        self.timeout = timeout

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        self.text_queue.put(text, timeout=self.timeout)
        if stream_end:
            self.text_queue.put(self.stop_signal, timeout=self.timeout)

    def __iter__(self) -> TextIteratorStreamer:
        return self

    def __next__(self) -> str:
        value = self.text_queue.get(timeout=self.timeout)
        if value is self.stop_signal:
            raise StopIteration
        return value


__all__ = ["BaseStreamer", "TextIteratorStreamer", "TextStreamer"]
