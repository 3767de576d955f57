"""What the Xet store hands out: files (lists of terms), the pieces of a reconstruction, and its error.

Plain records, apart from the store (``store``) so that the CAS routes can name them without reaching into
the storage the content gateway owns (``modelyard.server.content``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from modelyard.server.xet.shard import Term
from modelyard.server.xet.xorb import XorbInfo

_TERM = struct.Struct("<32sIII")


class XetError(ValueError):
    """An upload refers to something that is not there or does not check out; the message says what."""


@dataclass(frozen=True)
class XetFile:
    hash: str  # text form
    sha256: str
    size: int
    terms: tuple[Term, ...]

    def pack_terms(self) -> bytes:
        return b"".join(_TERM.pack(t.xorb, t.start, t.end, t.length) for t in self.terms)

    @staticmethod
    def unpack_terms(blob: bytes) -> tuple[Term, ...]:
        return tuple(Term(*_TERM.unpack_from(blob, i)) for i in range(0, len(blob), _TERM.size))


@dataclass(frozen=True)
class Piece:
    """Part of a reconstruction: chunks ``[start, end)`` of ``xorb``, ``length`` bytes once decoded."""

    xorb: XorbInfo
    start: int
    end: int
    length: int
