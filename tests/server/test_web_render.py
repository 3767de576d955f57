"""Rendering and sanitising untrusted repository content for the hub's pages (no server needed)."""

from __future__ import annotations

import pytest
from _html_audit import MARKUP_PAYLOADS, audit_fragment

from modelyard.server.web import render

BLOB, RAW = "/alice/m/blob/main/", "/alice/m/resolve/main/"


def card(text: str) -> str:
    return render.HubMarkdown().render(text, blob_base=BLOB, raw_base=RAW)


def test_corpus_is_big_enough() -> None:
    assert len(MARKUP_PAYLOADS) >= 20


@pytest.mark.parametrize("payload", MARKUP_PAYLOADS)
def test_card_payload_is_neutralised(payload: str) -> None:
    # Alone, inside a paragraph, inside a list and inside a table cell: the sanitiser sees it in every context.
    for text in (payload, f"Intro {payload} outro", f"- item\n- {payload}\n", f"| a |\n|---|\n| {payload} |\n"):
        html = card(text)
        assert audit_fragment(html) == [], (text, html)


def test_template_syntax_in_a_card_stays_text() -> None:
    html = card("{{ 7*7 }}")
    assert "{{ 7*7 }}" in html and "49" not in html


def test_markdown_features_survive_sanitising() -> None:
    html = card(
        "# Title\n\nSome **bold**, *italic*, ~~struck~~ and `code`.\n\n"
        "| col | other |\n|:---|---:|\n| 1 | 2 |\n\n"
        "> quoted\n\n1. one\n2. two\n\n"
        '<div align="center"><img src="https://example.org/logo.png" alt="logo" width="100"></div>\n\n'
        "```python\nprint('hi')\n```\n"
    )
    for fragment in ("<h1>Title</h1>", "<strong>bold</strong>", "<em>italic</em>", "<s>struck</s>", "<code>code</code>",
                     "<table>", "<blockquote>", "<ol>", '<div align="center">',
                     '<img src="https://example.org/logo.png" alt="logo" width="100">',
                     '<pre class="highlight"><code><span class="nb">print</span>'):
        assert fragment in html, (fragment, html)
    assert audit_fragment(html) == []


def test_links_get_rel_and_only_safe_schemes() -> None:
    html = card("[site](https://example.org) [mail](mailto:a@example.org) [ftp](ftp://example.org/x)")
    assert '<a href="https://example.org" rel="noopener noreferrer nofollow ugc">site</a>' in html
    assert 'href="mailto:a@example.org"' in html
    assert "ftp://" not in html  # not on the allow-list: the link text stays, the URL goes


def test_relative_links_resolve_inside_the_repository() -> None:
    html = card("![plot](<./images/loss plot.png>) [config](config.json#L3) [up](../../etc/passwd) [anchor](#usage)"
                " <img src=\"docs/arch.svg\">")
    assert f'<img src="{RAW}images/loss%20plot.png" alt="plot">' in html
    assert f'href="{BLOB}config.json#L3"' in html
    # '..' cannot climb out of the repository: it resolves to a file at the repo root.
    assert f'href="{BLOB}etc/passwd"' in html
    assert 'href="#usage"' in html
    assert f'<img src="{RAW}docs/arch.svg">' in html


def test_protocol_relative_links_are_dropped() -> None:
    html = card('<a href="//evil.example/x">x</a> [y](//evil.example/y)')
    assert "evil.example" not in html


def test_front_matter_is_not_rendered_as_text() -> None:
    from modelyard.server.cards import card_body

    assert card(card_body("---\nlicense: mit\n---\n# Hello\n")).strip() == "<h1>Hello</h1>"


def test_highlighted_source_escapes_the_file() -> None:
    html = render.highlight_file("evil.py", "x = '<script>alert(1)</script>'\n")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'id="L-1"' in html or 'id="L1"' in html or "L-1" in html  # line anchors for #L links


def test_json_is_pretty_printed() -> None:
    assert render.pretty_json('{"a":[1,2],"b":"<x>"}') == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": "<x>"\n}\n'
    assert render.pretty_json("not json") is None
    assert "&lt;x&gt;" in render.highlight_json("config.json", render.pretty_json('{"b":"<x>"}') or "")


@pytest.mark.parametrize("size, text", [(0, "0 Bytes"), (1, "1 Byte"), (999, "999 Bytes"), (1000, "1 kB"),
                                        (1234, "1.23 kB"), (548_000_000, "548 MB"), (2_500_000_000, "2.5 GB")])
def test_filesize(size: int, text: str) -> None:
    assert render.filesize(size) == text


def test_ago_and_count() -> None:
    assert render.ago(1000.0, now=1000.0) == "just now"
    assert render.ago(0.0, now=3 * 3600.0) == "3 hours ago"
    assert render.ago(0.0, now=86400.0) == "1 day ago"
    assert render.count(22_713_216) == "22.7M" and render.count(512) == "512" and render.count(1300) == "1.3k"


def test_binary_sniffing() -> None:
    assert render.looks_binary(b"abc\x00def") and not render.looks_binary("héllo".encode())
