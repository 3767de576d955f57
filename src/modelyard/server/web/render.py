"""Turning untrusted repository content into safe HTML: model cards, source files, JSON, diffs.

Everything a repository holds is untrusted. Markdown goes through markdown-it-py (CommonMark, raw HTML
allowed because model cards use it for images and alignment) and the result through nh3 (the ammonia
sanitiser), which keeps an allow-list of tags and attributes, drops ``<script>``/``<style>`` with their
content, event handlers, ``style`` and every URL scheme except http, https and mailto. Relative links in a
card are resolved against the repository (``img`` to the file's bytes, links to its page), as on the
Hugging Face Hub. Source files are highlighted by Pygments, whose output escapes the text. The pages also
send a Content-Security-Policy that forbids inline scripts (see ``security``), so even a sanitiser miss
could not run script.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from datetime import datetime, timezone
from urllib.parse import quote, unquote, urlsplit

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import JsonLexer, TextLexer, get_lexer_by_name, get_lexer_for_filename
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

from modelyard.server import bounded

# Above these sizes a page shows less: highlighting is linear but not cheap (about 1 s per MiB).
HIGHLIGHT_LIMIT = 256 * 1024
TEXT_LIMIT = 1024 * 1024
CARD_LIMIT = 1024 * 1024

_PYGMENTS_CLASSES = frozenset(c for c in STANDARD_TYPES.values() if c)
_TAGS = set(nh3.ALLOWED_TAGS) - {"map", "area"}
_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title", "hreflang"},
    "img": {"src", "alt", "title", "width", "height", "align"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    "p": {"align"},
    "div": {"align"},
    "h1": {"align"}, "h2": {"align"}, "h3": {"align"}, "h4": {"align"}, "h5": {"align"}, "h6": {"align"},
    "details": {"open"},
    "abbr": {"title"},
    "time": {"datetime"},
}
_CLASSES = {"span": set(_PYGMENTS_CLASSES), "div": {"highlight"}, "pre": {"highlight"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow ugc"


class HubMarkdown:
    """Markdown renderer for cards of one repository revision (relative links resolve against it)."""

    def __init__(self) -> None:
        self._md = MarkdownIt("commonmark", {"html": True, "highlight": _fence_highlight})
        self._md.enable(["table", "strikethrough"])

    def render(self, text: str, *, blob_base: str, raw_base: str) -> str:
        """Sanitised HTML of ``text``. ``blob_base``/``raw_base``: URL folders that relative links and images
        resolve to (the repo's ``blob/<rev>/`` and ``resolve/<rev>/`` pages, ending with '/')."""
        unsafe = self._md.render(text)
        return sanitize(unsafe, resolve_link=_relative_resolver(blob_base, raw_base))


class CommentMarkdown:
    """Markdown of discussion comments: no raw HTML (it is shown as text), relative links dropped, then the
    same sanitiser as cards."""

    def __init__(self) -> None:
        self._md = MarkdownIt("commonmark", {"html": False, "highlight": _fence_highlight})
        self._md.enable(["table", "strikethrough"])

    def render(self, text: str) -> str:
        return sanitize(self._md.render(text), resolve_link=lambda tag, attribute, url: url if url.startswith("#")
                        else None)


def sanitize(html: str, *, resolve_link: Callable[[str, str, str], str | None] | None = None) -> str:
    """Keep only the allow-listed markup of ``html``; ``resolve_link(tag, attribute, url)`` may rewrite URLs."""

    def attribute_filter(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src"):
            scheme = urlsplit(value).scheme.lower() if ":" in value else ""
            if scheme:
                return value if scheme in URL_SCHEMES else None
            return resolve_link(tag, attribute, value) if resolve_link else value
        return value

    return nh3.clean(
        html,
        tags=_TAGS,
        clean_content_tags={"script", "style"},
        attributes=_ATTRIBUTES,
        attribute_filter=attribute_filter,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        allowed_classes=_CLASSES,
        strip_comments=True,
    )


def _relative_resolver(blob_base: str, raw_base: str) -> Callable[[str, str, str], str | None]:
    def resolve(tag: str, attribute: str, url: str) -> str | None:
        if url.startswith(("#", "/", "?")) or url.startswith("//"):
            return None if url.startswith("//") else url  # protocol-relative: an external host without a scheme
        path, _, fragment = url.partition("#")
        path = unquote(path.split("?", 1)[0])  # markdown-it already percent-encoded it; encode once below
        clean = posixpath.normpath("/" + path).lstrip("/")
        if not clean or clean == ".":
            return url
        base = raw_base if tag == "img" else blob_base
        return base + quote(clean) + (f"#{quote(unquote(fragment))}" if fragment else "")

    return resolve


def _fence_highlight(code: str, lang: str, _attrs: str) -> str:
    """Highlight a fenced code block (markdown-it inserts what this returns; empty means 'escape it yourself')."""
    if not lang or len(code) > HIGHLIGHT_LIMIT:
        return ""
    try:
        lexer = get_lexer_by_name(lang.split()[0], stripnl=False)
    except ClassNotFound:
        return ""
    # Starting with <pre: markdown-it then inserts it as is instead of wrapping it in another <pre><code>.
    return f'<pre class="highlight"><code>{highlight(code, lexer, HtmlFormatter(nowrap=True))}</code></pre>\n'


# -- files --------------------------------------------------------------------------------------------
def lexer_for(path: str, text: str) -> Lexer:
    try:
        return get_lexer_for_filename(posixpath.basename(path), text[:4096], stripnl=False)
    except ClassNotFound:
        return TextLexer(stripnl=False)


def highlight_file(path: str, text: str, *, lexer: Lexer | None = None) -> str:
    """HTML of a source file with line numbers that link to themselves (``#L12``)."""
    if len(text) > HIGHLIGHT_LIMIT:
        lexer = TextLexer(stripnl=False)
    formatter = HtmlFormatter(linenos="table", lineanchors="L", anchorlinenos=True, wrapcode=True)
    return highlight(text, lexer or lexer_for(path, text), formatter)


def pretty_json(text: str) -> str | None:
    """Re-indented JSON text, or None when ``text`` is not JSON (or nests too deep to re-indent safely)."""
    try:
        value = bounded.load_json(text)
    except ValueError:
        return None
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def highlight_json(path: str, text: str) -> str:
    return highlight_file(path, text, lexer=JsonLexer(stripnl=False))


def stylesheet() -> str:
    """Pygments' classes as CSS (served as /static/highlight.css)."""
    return HtmlFormatter(style="default").get_style_defs(".highlight")


def looks_binary(head: bytes) -> bool:
    return b"\x00" in head[:8192]


# -- formatting filters -------------------------------------------------------------------------------
def filesize(size: int | None) -> str:
    """Decimal units like the Hugging Face Hub: ``548 MB``, ``1.2 kB``, ``17 Bytes``."""
    if size is None:
        return ""
    if size < 1000:
        return f"{size} Bytes" if size != 1 else "1 Byte"
    value = float(size)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 1000 or unit == "PB":
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{size} Bytes"  # pragma: no cover - loop always returns


def count(number: int) -> str:
    """``22.7M``, ``1.3k``, ``512``: parameter and download counts."""
    for factor, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if number >= factor:
            return f"{number / factor:.3g}{suffix}"
    return str(number)


def iso_date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def ago(ts: float, now: float | None = None) -> str:
    """``3 minutes ago``: how old a date is (the exact date goes in the element's title)."""
    now = datetime.now(timezone.utc).timestamp() if now is None else now
    seconds = max(0, int(now - ts))
    for span, unit in ((365 * 86400, "year"), (30 * 86400, "month"), (7 * 86400, "week"), (86400, "day"),
                       (3600, "hour"), (60, "minute")):
        if seconds >= span:
            n = seconds // span
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"
