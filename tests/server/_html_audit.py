"""Checks that a page (or a rendered fragment) holds nothing that could run script, and that it is whole.

Shared by the rendering unit tests and the page tests; the browser tests then confirm in Chromium that
nothing runs. Also the XSS corpus: payloads for model cards, file names, commit messages, ref names and
URL parameters.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

# Every page may load exactly these scripts (from the hub itself, never inline).
OUR_SCRIPTS = ("/static/copy.js", "/static/search.js")
FORBIDDEN_TAGS = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "base", "style", "svg", "math",
                  "template", "noscript", "textarea", "xmp", "plaintext", "noembed", "video", "audio", "source",
                  "input", "select", "form", "button", "link", "meta", "foreignobject", "animate", "set", "use"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "poster", "background", "srcset",
                  "cite", "lowsrc", "dynsrc"}
_CONTROL = re.compile(r"[\x00-\x20]")
BAD_SCHEMES = ("javascript:", "vbscript:", "data:text/html", "data:image/svg", "data:application")

# The page's own elements that the forbidden list would otherwise flag (forms, buttons, inputs of our templates).
OWN = {
    "script": lambda attrs: (attrs.get("src") or "").split("?")[0].endswith(OUR_SCRIPTS),
    "link": lambda attrs: attrs.get("rel") == "stylesheet" and (attrs.get("href") or "").startswith("/static/"),
    "meta": lambda attrs: "http-equiv" not in attrs,
    "form": lambda attrs: (attrs.get("action") or "/").startswith("/") and not (attrs.get("action") or "").startswith(
        "//"),
    "input": lambda attrs: True,
    "button": lambda attrs: True,
    "select": lambda attrs: True,
}


class _Audit(HTMLParser):
    def __init__(self, *, fragment: bool, charts: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.fragment = fragment
        self.charts = charts
        self.problems: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: (v or "") for k, v in attrs}
        self.tags.append(tag)
        own_chart = self.charts and tag == "svg" and values.get("class") == "chart"  # the metrics tab's SVG
        if tag in FORBIDDEN_TAGS and not own_chart and (self.fragment or tag not in OWN or not OWN[tag](values)):
            self.problems.append(f"<{tag} {values}>")
        for name, value in values.items():
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>: {value!r}")
            if name in URL_ATTRIBUTES:
                cleaned = _CONTROL.sub("", value).lower()
                if cleaned.startswith(BAD_SCHEMES):
                    self.problems.append(f"{name}={value!r} on <{tag}>")
                if tag == "a" and name == "href" and cleaned.startswith("//"):
                    self.problems.append(f"protocol-relative link {value!r}")
            if name == "srcdoc" or name == "http-equiv":
                self.problems.append(f"{name} on <{tag}>")

    handle_startendtag = handle_starttag


def audit_fragment(html: str) -> list[str]:
    """Problems in sanitised HTML (a rendered card): no form controls, scripts, handlers or bad URLs at all."""
    parser = _Audit(fragment=True)
    parser.feed(html)
    parser.close()
    return parser.problems


def audit_page(html: str, *, charts: bool = False) -> list[str]:
    """Problems in a whole page: anything script-capable besides our own two scripts, or a broken layout
    (the page must keep its single <main> and the footer after it: a payload must not swallow the rest).
    ``charts``: the page may hold the hub's own ``<svg class="chart">`` charts (their content is still checked)."""
    parser = _Audit(fragment=False, charts=charts)
    parser.feed(html)
    parser.close()
    problems = list(parser.problems)
    if parser.tags.count("main") != 1 or html.count("</main>") != 1:
        problems.append("the page does not have exactly one <main>")
    if not re.search(r"</main>\s*<footer class=\"site\">", html):
        problems.append("the footer does not follow the main content (a payload broke the page)")
    if not html.rstrip().endswith("</html>"):
        problems.append("the page does not end with </html>")
    scripts = [t for t in parser.tags if t == "script"]
    if len(scripts) != len(OUR_SCRIPTS):
        problems.append(f"{len(scripts)} <script> elements, expected {len(OUR_SCRIPTS)}")
    return problems


# -- the XSS corpus -----------------------------------------------------------------------------------
MARKUP_PAYLOADS = [
    "<script>alert('xss-1')</script>",
    "<img src=x onerror=alert('xss-2')>",
    "<svg onload=alert('xss-3')>",
    "<svg><script>alert('xss-4')</script></svg>",
    '<a href="javascript:alert(\'xss-5\')">click</a>',
    '<a href="JaVaScRiPt:alert(\'xss-6\')">click</a>',
    '<a href="java&#x09;script:alert(\'xss-7\')">click</a>',
    '<a href=" &#14;javascript:alert(\'xss-8\')">click</a>',
    "[markdown link](javascript:alert('xss-9'))",
    "![markdown image](javascript:alert('xss-10'))",
    '<iframe src="javascript:alert(\'xss-11\')"></iframe>',
    '<iframe srcdoc="<script>alert(\'xss-12\')</script>"></iframe>',
    '<object data="data:text/html,<script>alert(\'xss-13\')</script>"></object>',
    '<embed src="data:text/html;base64,PHNjcmlwdD5hbGVydCgneHNzLTE0Jyk8L3NjcmlwdD4=">',
    '<form action="javascript:alert(\'xss-15\')"><button>go</button></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('xss-16')>",
    "<details open ontoggle=alert('xss-17')>details</details>",
    "<body onload=alert('xss-18')>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'xss-19\')">',
    '<base href="javascript:alert(\'xss-20\')//">',
    "<style>@import 'javascript:alert(\"xss-21\")';</style>",
    '<div style="background:url(javascript:alert(\'xss-22\'))">styled</div>',
    "\"><script>alert('xss-23')</script>",
    "</textarea><script>alert('xss-24')</script>",
    '<noscript><p title="</noscript><img src=x onerror=alert(\'xss-25\')>">',
    '<a href="data:text/html,<script>alert(\'xss-26\')</script>">data</a>',
    '<img src="x" alt="</title><script>alert(\'xss-27\')</script>">',
    "<input autofocus onfocus=alert('xss-28')>",
    "<video><source onerror=alert('xss-29')></video>",
    '<a href="&#106;avascript:alert(\'xss-30\')">entity</a>',
    "<scr<script>ipt>alert('xss-31')</scr</script>ipt>",
    '<!--<img src="--><img src=x onerror=alert(\'xss-32\')//">',
    '<svg><a xlink:href="javascript:alert(\'xss-33\')"><text>x</text></a></svg>',
    '<a href="//evil.example/xss-34">protocol-relative</a>',
    "{{ 7*7 }} {% raw %}xss-35{% endraw %}",
]

# Valid repository paths that carry markup (paths may hold any character but '\\', control characters, and
# '/', which separates folders).
FILE_NAME_PAYLOADS = [
    "\"><img src=x onerror=alert('file-1')>.txt",
    "<svg onload=alert('file-2')>.md",
    "javascript:alert('file-3').json",
    "<script>alert('file-4')<",
    "'onmouseover='alert(5)'.py",
]

# Branch and tag names allow '<', '>', '"' and "'" (git check-ref-format does).
REF_NAME_PAYLOADS = [
    "\"><svg/onload=alert('tag-1')>",
    "<script>alert('tag-2')<",
]


def build_xss_repo(api: Any, repo: str) -> str:
    """Create ``repo`` with an attack payload in its card, file names, commit messages and ref names."""
    from unittest.mock import patch

    from huggingface_hub import CommitOperationAdd

    api.create_repo(repo)
    card = "---\nlicense: \"<script>alert('yaml')</script>\"\ntags: ['<img src=x onerror=alert(1)>']\n---\n"
    card += "\n\n".join(MARKUP_PAYLOADS)
    operations = [CommitOperationAdd("README.md", card.encode())]
    operations += [CommitOperationAdd(name, f"payload {i}\n<script>alert({i})</script>".encode())
                   for i, name in enumerate(FILE_NAME_PAYLOADS)]
    operations.append(CommitOperationAdd("notes.md", "\n\n".join(MARKUP_PAYLOADS).encode()))
    # The hub's validate-yaml refuses that license, but an attacker commits without asking it first (as the
    # stock client does with its card check switched off): the payload gets stored and must stay inert.
    with patch.object(api, "_validate_yaml", lambda *args, **kwargs: None):
        api.create_commit(repo, operations=operations, commit_message=MARKUP_PAYLOADS[0],
                          commit_description="\n".join(MARKUP_PAYLOADS))
    for i, payload in enumerate(MARKUP_PAYLOADS[1:], 1):
        api.create_commit(repo, operations=[CommitOperationAdd(f"file-{i}.txt", payload.encode())],
                          commit_message=payload[:200])
    for name in REF_NAME_PAYLOADS:
        api.create_tag(repo, tag=name)
        api.create_branch(repo, branch=name + "-branch")
    return repo


def xss_pages(repo: str) -> list[str]:
    """Every page of the payload repo (plus the listings that show it)."""
    pages = [f"/{repo}", f"/{repo}/tree/main", f"/{repo}/commits/main", f"/{repo}/commit/main", f"/{repo}/refs",
             f"/{repo}/blob/main/README.md", f"/{repo}/blob/main/notes.md", "/", "/models?search=web-xss"]
    pages += [f"/{repo}/blob/main/{quote(name)}" for name in FILE_NAME_PAYLOADS]
    pages += [f"/{repo}/tree/{quote(name, safe='')}" for name in REF_NAME_PAYLOADS]
    pages += [f"/{repo}/commits/{quote(name + '-branch', safe='')}" for name in REF_NAME_PAYLOADS]
    return pages
