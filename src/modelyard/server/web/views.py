"""What the repository pages show, gathered from the hub's storage (the same lookups the API makes)."""

from __future__ import annotations

import difflib
import logging
import math
import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request

from modelyard.server import bounded, scanning
from modelyard.server.auth import GATE_FREE, owns_namespace, require_read
from modelyard.server.cards import card_metadata
from modelyard.server.gitobjects import FileEntry
from modelyard.server.lru import LRUCache
from modelyard.server.paths import is_repo_id
from modelyard.server.service import URL_PREFIX, Hub, seg
from modelyard.server.storage import BRANCH, PR, TAG, Commit, Identity, Repo
from modelyard.server.web import render, security, training_logs
from modelyard.server.web.templating import url_prefix

logger = logging.getLogger(__name__)

TREE_PAGE = 100
COMMITS_PAGE = 50
WEIGHT_SUFFIXES = frozenset({".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf",
                             ".tflite", ".mlmodel", ".keras"})
NOT_WEIGHTS = ("training_args.bin", "optimizer.pt", "optimizer.bin", "scheduler.pt", "scaler.pt", "rng_state")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer.model")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".ico", ".svg", ".avif"})
# Head classes the snippet may name (modelyard and transformers both export these).
HEAD_CLASSES = {
    "ForSequenceClassification": "AutoModelForSequenceClassification",
    "ForTokenClassification": "AutoModelForTokenClassification",
    "ForQuestionAnswering": "AutoModelForQuestionAnswering",
    "ForMaskedLM": "AutoModelForMaskedLM",
    "ForMultipleChoice": "AutoModelForMultipleChoice",
    "ForImageClassification": "AutoModelForImageClassification",
    "ForAudioClassification": "AutoModelForAudioClassification",
    "ForCTC": "AutoModelForCTC",
}
AUTO_MAP_HELP = {
    "AutoConfig": "the configuration class",
    "AutoModel": "the base model",
    "AutoTokenizer": "the tokenizer (slow, fast)",
    "AutoFeatureExtractor": "the feature extractor",
    "AutoImageProcessor": "the image processor",
    "AutoProcessor": "the processor",
}


# -- the repository a page is about -------------------------------------------------------------------
@dataclass
class RepoPage:
    """A readable repository at one revision, and how to link inside it."""

    hub: Hub
    request: Request
    repo: Repo
    caller: Identity | None
    revision: str
    commit: Commit
    base: str
    is_commit_id: bool = False
    _manifest: dict[str, FileEntry] | None = field(default=None, repr=False)

    @property
    def manifest(self) -> dict[str, FileEntry]:
        """The revision's files (read when first needed: history pages never parse a 10,000-file manifest)."""
        if self._manifest is None:
            self._manifest = self.hub.manifest(self.repo, self.commit)
        return self._manifest

    @property
    def repo_id(self) -> str:
        return self.repo.repo_id

    @property
    def can_write(self) -> bool:
        return (self.caller is not None and self.caller.role == "write"
                and owns_namespace(self.caller, self.repo.namespace))

    @property
    def gate(self) -> str | None:
        """The viewer's standing in a gated repository: None (not gated), "owner", or their request's status
        ("pending", "accepted", "rejected"; "none" without one)."""
        if self.repo.gated is None:
            return None
        if self.caller is not None and owns_namespace(self.caller, self.repo.namespace):
            return "owner"
        found = self.hub.storage.gating.get(self.repo, user=self.caller.name) if self.caller else None
        return found.status if found else "none"

    @property
    def can_download(self) -> bool:
        """Whether the viewer may read the content of the repository's (gated) files."""
        return self.gate in (None, "owner", "accepted")

    def is_folder(self, path: str) -> bool:
        return path in folder_children(self.commit.tree, self.manifest)

    @property
    def has_training_metrics(self) -> bool:
        """Whether the revision holds training logs (the "Training metrics" tab is shown)."""
        return bool(training_sources(self))

    def url(self, kind: str = "", path: str = "", revision: str | None = None) -> str:
        """``/ns/repo``, ``/ns/repo/<kind>/<revision>[/<path>]`` (revision as one encoded segment)."""
        if not kind:
            return self.base
        rev = quote(self.revision if revision is None else revision, safe="")
        return f"{self.base}/{kind}/{rev}" + (f"/{quote(path)}" if path else "")


def repo_base(request: Request, repo: Repo) -> str:
    return f"{url_prefix(request)}/{URL_PREFIX[repo.type]}{quote(repo.namespace)}/{quote(repo.name)}"


def open_repo(request: Request, repo_type: str, namespace: str, name: str, revision: str | None = None
              ) -> RepoPage:
    """The repository named by raw URL segments, if the viewer may read it (404 page otherwise, as the API),
    at ``revision`` (default: main)."""
    hub = security.hub_of(request)
    caller = security.caller(request)
    repo = hub.find_repo(repo_type, namespace, name, request=request, caller=caller)
    repo = require_read(caller, repo, f"{seg(namespace)}/{seg(name)}")
    rev = seg(revision) if revision is not None else "main"
    oid = hub.resolve(repo, rev)
    commit = hub.commit(repo, oid)
    return RepoPage(hub, request, repo, caller, rev, commit, repo_base(request, repo),
                    is_commit_id=rev.lower() == oid[:len(rev)] and len(rev) >= 7)


def refs_of(page: RepoPage) -> dict[str, list[tuple[str, str]]]:
    """Branches, tags and pull-request refs as (name, target commit)."""
    out: dict[str, list[tuple[str, str]]] = {"branches": [], "tags": [], "prs": []}
    for row in page.hub.storage.refs.all(page.repo):
        ref, target = row["name"], row["target"]
        if ref.startswith(BRANCH):
            out["branches"].append((ref[len(BRANCH):], target))
        elif ref.startswith(TAG):
            out["tags"].append((ref[len(TAG):], target))
        elif ref.startswith(PR):
            out["prs"].append((ref, target))
    out["branches"].sort(key=lambda item: (item[0] != "main", item[0]))
    out["prs"].sort(key=lambda item: int(item[0][len(PR):]) if item[0][len(PR):].isdigit() else 0)
    return out


# -- folder listings ----------------------------------------------------------------------------------
Folders = dict[str, tuple[list[str], list[str]]]
# Per tree: each folder's subfolders and files, sorted (built once per tree, kept for a few trees).
FOLDERS: LRUCache[str, Folders] = LRUCache(16)


def folder_children(tree: str, manifest: dict[str, FileEntry]) -> Folders:
    """Each folder of the tree ``tree`` (whose files are ``manifest``): its subfolders and files, sorted."""
    return FOLDERS.get_or_compute(tree, lambda: _index_folders(manifest))


def _index_folders(manifest: dict[str, FileEntry]) -> Folders:
    folders: Folders = {"": ([], [])}
    for path in manifest:
        parent = path.rpartition("/")[0]
        missing = []
        folder = parent
        while folder not in folders:  # "" is always there, so this stops
            missing.append(folder)
            folder = folder.rpartition("/")[0]
        for folder in reversed(missing):
            folders[folder] = ([], [])
            folders[folder.rpartition("/")[0]][0].append(folder)
        folders[parent][1].append(path)
    for subfolders, files in folders.values():
        subfolders.sort()
        files.sort()
    return folders


@dataclass
class Entry:
    path: str
    name: str
    is_dir: bool
    size: int = 0
    lfs: bool = False
    kind: str = "data"  # pickle | code | data
    scan: str | None = None  # pickle files: safe | unsafe | suspicious | error | unscanned
    scan_message: str = ""
    last_commit: Commit | None = None


def list_folder(page: RepoPage, folder: str, offset: int, limit: int = TREE_PAGE) -> tuple[list[Entry], int]:
    """A page of ``folder``'s entries (folders first), with the last commit touching each and scan verdicts;
    and the number of entries in the folder."""
    children = folder_children(page.commit.tree, page.manifest)
    subfolders, files = children[folder]
    everything = [(p, True) for p in subfolders] + [(p, False) for p in files]
    chosen = everything[offset:offset + limit]
    file_entries = [page.manifest[p] for p, is_dir in chosen if not is_dir]
    page.hub.content_scan_exts(file_entries)  # one batch instead of a lookup per file
    shards = shards_of(page)
    last = page.hub.storage.changes.last_changes(page.repo, page.commit.oid, [p for p, _ in chosen])
    out = []
    for path, is_dir in chosen:
        entry = Entry(path, path.rpartition("/")[2], is_dir, last_commit=last.get(path))
        if not is_dir:
            fe = page.manifest[path]
            entry.size, entry.lfs = fe.size, fe.lfs
            entry.kind, entry.scan, entry.scan_message = file_security(page, path, fe, shards)
        out.append(entry)
    return out, len(everything)


def shards_of(page: RepoPage) -> frozenset[str]:
    """Files a non-safetensors weights index of the page's tree names (scanned as pickles whatever their name)."""
    return TREE_FACTS.get_or_compute(("shards", page.commit.tree),
                                     lambda: frozenset(page.hub.pickle_shards(page.manifest)))


def file_security(page: RepoPage, path: str, entry: FileEntry, shards: Collection[str] | None = None
                  ) -> tuple[str, str | None, str]:
    """(kind, scan status, message): kind is pickle, code or data; the status is set for pickles only."""
    kind, scan = page.hub.scan_of(path, entry, shards_of(page) if shards is None else shards)
    if kind != "pickle":
        return kind, None, ""
    info = scanning.sibling_security(path, scan, kind)
    message = info["message"] + (f": {', '.join(info['dangerousImports'])}" if info["dangerousImports"] and
                                 "dangerous" not in info["message"] else "")
    return kind, info["status"], message


def breadcrumbs(path: str) -> list[tuple[str, str]]:
    """(name, path) of each folder down to ``path``."""
    parts = path.split("/") if path else []
    return [(part, "/".join(parts[:i + 1])) for i, part in enumerate(parts)]


# -- history ------------------------------------------------------------------------------------------
def history(page: RepoPage, offset: int, limit: int = COMMITS_PAGE, path: str = "") -> tuple[list[Commit], int]:
    """A page of the first-parent history of the page's revision (only commits that changed ``path`` when
    given), newest first, and the total number of such commits."""
    storage = page.hub.storage
    chain = storage.changes.first_parent_chain(page.repo, page.commit.oid)
    if path:
        position = {oid: i for i, oid in enumerate(chain)}
        touching = storage.changes.commits_touching(page.repo, path)
        chain = sorted((oid for oid in touching if oid in position), key=position.__getitem__)
    wanted = chain[offset:offset + limit]
    commits = storage.commits.by_ids(page.repo, wanted)
    return [commits[oid] for oid in wanted if oid in commits], len(chain)


@dataclass
class Change:
    path: str
    status: str  # added | modified | deleted
    before: FileEntry | None
    after: FileEntry | None
    diff: list[tuple[str, str]] | None = None  # (css class, line) of a unified diff
    note: str = ""


MAX_DIFF_FILES = 30
MAX_DIFF_BYTES = 200 * 1024
MAX_DIFF_LINES = 2000


def commit_changes(page: RepoPage) -> list[Change]:
    """Files the page's commit added, modified or deleted against its parent, with text diffs of small files."""
    parent = page.hub.storage.commits.get(page.repo, page.commit.parent) if page.commit.parent else None
    before = page.hub.manifest(page.repo, parent) if parent else {}
    return changes_between(page.hub, before, page.manifest, readable=page.can_download)


def changes_between(hub: Hub, before: dict[str, FileEntry], after: dict[str, FileEntry], *,
                    readable: bool = True) -> list[Change]:
    """Files changed from ``before`` to ``after``, with text diffs of small files (``readable=False``: none of
    a gated repository's files, to a viewer without access)."""
    changes = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        status = "added" if old is None else "deleted" if new is None else "modified"
        changes.append(Change(path, status, old, new))
    for change in changes[:MAX_DIFF_FILES]:
        if readable or change.path in GATE_FREE:
            change.diff, change.note = _diff(hub, change)
        else:
            change.note = "gated file: ask for access to see its changes"
    for change in changes[MAX_DIFF_FILES:]:
        change.note = f"diff not shown: only the first {MAX_DIFF_FILES} files of a commit get one"
    return changes


def _diff(hub: Hub, change: Change) -> tuple[list[tuple[str, str]] | None, str]:
    sides = []
    for entry in (change.before, change.after):
        if entry is None:
            sides.append("")
            continue
        if entry.lfs or entry.size > MAX_DIFF_BYTES:
            return None, "binary or large file (LFS): compare the sizes and hashes" if entry.lfs else (
                f"file larger than {render.filesize(MAX_DIFF_BYTES)}: diff not shown")
        text = hub.small_text(entry, MAX_DIFF_BYTES)
        if text is None or "\x00" in text:
            return None, "binary file"
        sides.append(text)
    lines: list[tuple[str, str]] = []
    for line in difflib.unified_diff(sides[0].splitlines(), sides[1].splitlines(), lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        css = "hunk" if line.startswith("@@") else "add" if line.startswith("+") else "del" if line.startswith(
            "-") else "ctx"
        lines.append((css, line))
        if len(lines) >= MAX_DIFF_LINES:
            return lines, f"diff cut after {MAX_DIFF_LINES} lines"
    return lines, "" if lines else "no textual change"


# -- the model page -----------------------------------------------------------------------------------
def _suffix(path: str) -> str:
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def is_weights(path: str) -> bool:
    return _suffix(path) in WEIGHT_SUFFIXES and not path.rpartition("/")[2].startswith(NOT_WEIGHTS)


# Facts about a tree that never change (its files, their content kinds and headers): computed once per tree.
# What was computed once per tree for the pages (shards, pickle files, weights summary, training logs).
TREE_FACTS: LRUCache[tuple[str, ...], Any] = LRUCache(64)


def pickle_paths(page: RepoPage) -> list[str]:
    """Files of the page's tree that hold pickles, by name, weights index or content (what gets scanned)."""

    def find() -> list[str]:
        kinds = page.hub.content_scan_exts(page.manifest.values())
        shards = shards_of(page)
        return sorted(p for p, e in page.manifest.items()
                      if _suffix(p) in scanning.PICKLE_EXTENSIONS or p in shards or kinds.get(e.sha256))

    return TREE_FACTS.get_or_compute(("pickles", page.commit.tree), find)


def flagged_files(page: RepoPage) -> list[tuple[str, str, str]]:
    """(path, status, message) of the pickle files whose scan is not "safe"."""
    out = []
    for path in pickle_paths(page):
        kind, status, message = file_security(page, path, page.manifest[path])
        if kind == "pickle" and status != "safe":
            out.append((path, status or "unscanned", message))
    return out


@dataclass
class CodeFile:
    auto_class: str
    reference: str
    path: str | None  # the file in this repo, or None when the code lives in another repo (or nowhere valid)
    other_repo: str | None = None  # a valid repo id, or None
    what: str = ""


def auto_map_files(auto_map: Any) -> list[CodeFile]:
    """The code files an ``auto_map`` points at (``module.Class`` -> ``module.py`` in this repo;
    ``owner/repo--module.Class`` -> another repo). A reference that is neither (an invalid repo id such as
    ``/evil.example/x``, or a module that is not dotted identifiers) is shown as text, never as a link."""
    out: list[CodeFile] = []
    if not isinstance(auto_map, dict):
        return out
    for auto_class, value in auto_map.items():
        references = value if isinstance(value, list) else [value]
        for reference in references:
            if not isinstance(reference, str) or "." not in reference:
                continue
            other, sep, local = reference.partition("--")
            if not sep:
                other, local = "", reference
            module = local.rpartition(".")[0]
            what = AUTO_MAP_HELP.get(str(auto_class), "the model with a task head" if str(auto_class).startswith(
                "AutoModelFor") else "")
            valid_module = bool(module) and all(part.isidentifier() for part in module.split("."))
            if other and is_repo_id(other) and valid_module:
                out.append(CodeFile(str(auto_class), reference, None, other, what))
            elif not other and valid_module:
                out.append(CodeFile(str(auto_class), reference, module.replace(".", "/") + ".py", None, what))
            else:
                out.append(CodeFile(str(auto_class), reference, None, None, what))
    return out


def pick_auto_class(config: dict[str, Any]) -> str:
    auto_map = config.get("auto_map")
    if not isinstance(auto_map, dict):
        auto_map = {}
    heads = [k for k in auto_map if isinstance(k, str) and k.startswith("AutoModelFor")]
    if heads:
        return heads[0]
    if "AutoModel" in auto_map:
        return "AutoModel"
    architectures = config.get("architectures")
    if isinstance(architectures, list) and architectures and isinstance(architectures[0], str):
        for suffix, auto in HEAD_CLASSES.items():
            if architectures[0].endswith(suffix):
                return auto
    return "AutoModel"


@dataclass
class Snippet:
    library: str
    code: str


def use_snippets(page: RepoPage, config: dict[str, Any] | None) -> tuple[list[Snippet], bool]:
    """The "Use this model" code (modelyard, then transformers), pinned to the commit; and whether it needs
    ``trust_remote_code=True`` (the repo ships code through ``auto_map``)."""
    repo_id = page.repo_id
    oid = page.commit.oid
    if page.repo.type != "model":
        kind = page.repo.type
        code = (f"from huggingface_hub import snapshot_download\n\npath = snapshot_download(\n    \"{repo_id}\",\n"
                f'    repo_type="{kind}",\n    revision="{oid}",\n)\n')
        return [Snippet("huggingface_hub", code)], False
    config = config or {}
    remote = bool(config.get("auto_map"))
    auto_class = pick_auto_class(config)
    tokenizer = any(name in page.manifest for name in TOKENIZER_FILES)
    args = f'\n    "{repo_id}",\n    revision="{oid}",\n' + ("    trust_remote_code=True,\n" if remote else "")
    snippets = []
    for library in ("modelyard", "transformers"):
        names = [auto_class] + (["AutoTokenizer"] if tokenizer else [])
        lines = [f"from {library} import {', '.join(names)}", ""]
        if tokenizer:
            lines.append(f"tokenizer = AutoTokenizer.from_pretrained({args})")
        lines.append(f"model = {auto_class}.from_pretrained({args})")
        snippets.append(Snippet(library, "\n".join(lines) + "\n"))
    return snippets, remote


@dataclass
class Weights:
    size: int = 0
    files: int = 0
    formats: list[str] = field(default_factory=list)
    parameters: int | None = None
    dtypes: list[str] = field(default_factory=list)


SAFETENSORS_HEADER_LIMIT = 100 * 1024 * 1024
_DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
                "F8_E4M3": 1, "F8_E5M2": 1, "U16": 2, "U32": 4, "U64": 8}


# Parameter counts per dtype of stored safetensors files (None: not readable as one), by content.
HEADERS: LRUCache[str, dict[str, int] | None] = LRUCache(1024)


def safetensors_parameters(hub: Hub, entry: FileEntry) -> dict[str, int] | None:
    """Parameter counts per dtype of a stored safetensors file, read from its header once per content."""
    return HEADERS.get_or_compute(entry.sha256, lambda: _read_safetensors_header(hub, entry))


def _read_safetensors_header(hub: Hub, entry: FileEntry) -> dict[str, int] | None:
    try:
        with hub.open_content(entry) as fh:  # an LFS blob, or a file stored through Xet
            raw = fh.read(8)
            if len(raw) < 8:
                return None
            (length,) = struct.unpack("<Q", raw)
            if not 2 <= length <= min(SAFETENSORS_HEADER_LIMIT, entry.size - 8):
                return None
            header = bounded.load_json(fh.read(length))
    except (OSError, ValueError) as err:
        logger.debug("cannot read the safetensors header of %s: %s", entry.sha256, err)
        return None
    if not isinstance(header, dict):
        return None
    counts: dict[str, int] = {}
    for name, info in header.items():
        if name == "__metadata__" or not isinstance(info, dict):
            continue
        shape, dtype = info.get("shape"), info.get("dtype")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            return None
        counts[str(dtype)] = counts.get(str(dtype), 0) + math.prod(shape)
    return counts


def weights_summary(page: RepoPage) -> Weights:
    return TREE_FACTS.get_or_compute(("weights", page.commit.tree), lambda: _weights(page))


def _weights(page: RepoPage) -> Weights:
    weights = Weights()
    formats: set[str] = set()
    per_dtype: dict[str, int] = {}
    safetensors_complete = True
    any_safetensors = False
    for path, entry in page.manifest.items():
        if not is_weights(path):
            continue
        weights.size += entry.size
        weights.files += 1
        suffix = _suffix(path)
        formats.add(suffix.lstrip("."))
        if suffix == ".safetensors":
            any_safetensors = True
            counts = safetensors_parameters(page.hub, entry)
            if counts is None:
                safetensors_complete = False
            else:
                for dtype, n in counts.items():
                    per_dtype[dtype] = per_dtype.get(dtype, 0) + n
    weights.formats = sorted(formats)
    if any_safetensors and safetensors_complete:
        weights.parameters = sum(per_dtype.values())
        weights.dtypes = sorted(per_dtype, key=lambda d: -per_dtype[d])
    return weights


# -- training metrics ---------------------------------------------------------------------------------
METRICS: LRUCache[tuple[str, ...], training_logs.Metrics] = LRUCache(16)


def training_sources(page: RepoPage) -> list[training_logs.Source]:
    """The training logs of the page's tree (trainer_state.json, TensorBoard runs): found once per tree."""
    return TREE_FACTS.get_or_compute(("training", page.commit.tree),
                                     lambda: training_logs.find_sources(page.manifest))


def training_metrics(page: RepoPage, source: training_logs.Source) -> training_logs.Metrics:
    """The charts and tables of one log, computed once per tree and model card (both immutable)."""
    readme = page.manifest.get("README.md")
    key = ("metrics", page.commit.tree, source.id, readme.sha256 if readme else "")
    return METRICS.get_or_compute(key, lambda: training_logs.read_metrics(page.hub, page.manifest, source,
                                                                          card=read_card(page)[1]))


CARD_TAG_KEYS = ("pipeline_tag", "library_name", "license", "language", "datasets", "base_model", "tags")


def card_tags(card: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) pairs shown as tags above the card, from its YAML metadata."""
    if not card:
        return []
    out = []
    for key in CARD_TAG_KEYS:
        value = card.get(key)
        values = value if isinstance(value, list) else [value]
        for item in values[:30]:
            if isinstance(item, (str, int, float)) and not isinstance(item, bool) and str(item).strip():
                out.append((key.replace("_", " "), str(item)[:200]))
    return out


def read_card(page: RepoPage) -> tuple[dict[str, Any] | None, str | None]:
    """(metadata, body text) of README.md, or (None, None) when there is none or it is too large."""
    entry = page.manifest.get("README.md")
    if entry is None:
        return None, None
    text = page.hub.small_text(entry, render.CARD_LIMIT)
    if text is None:
        return None, None
    return card_metadata(text), text
