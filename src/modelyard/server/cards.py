"""Model card (README.md) metadata: the YAML block between ``---`` lines at the top of the file."""

from __future__ import annotations

import re
from typing import Any

from modelyard.server import bounded

# Blank lines may come before the block, as the client's own parser (RepoCard) allows.
_FRONT_MATTER = re.compile(r"\A\ufeff?\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def _front_matter(text: str) -> str | None:
    match = _FRONT_MATTER.match(text)
    return match.group(1) if match else None


def card_body(text: str) -> str:
    """The card's Markdown after its metadata block (the whole text when there is none)."""
    match = _FRONT_MATTER.match(text)
    return text[match.end():] if match else text.removeprefix("\ufeff")


def _children(node: Any) -> list[Any]:
    value = node.value
    if isinstance(value, list):  # a sequence (nodes) or a mapping ((key node, value node) pairs)
        return [n for item in value for n in (item if isinstance(item, tuple) else (item,))]
    return []


def _check_expanded_size(root: Any) -> None:
    """Refuse a composed YAML document whose aliases (and merge keys) would expand beyond the bounds.

    Aliases share nodes, so the composed graph stays as small as the text; the size is counted as if every
    alias were written out, once per node (memoized), without recursion; an alias cycle is refused."""
    sizes: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            children = _children(node)
            items = 1 + sum(sizes[id(c)][0] for c in children)
            chars = (len(node.value) if isinstance(node.value, str) else 0) + sum(sizes[id(c)][1] for c in children)
            if items > bounded.MAX_ITEMS or chars > bounded.MAX_TEXT:
                raise bounded.ContentTooComplex(
                    f"the aliases expand to more than {bounded.MAX_ITEMS} values or {bounded.MAX_TEXT} characters")
            sizes[key] = (items, chars)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise bounded.ContentTooComplex("an alias refers to a node that contains it")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _load_yaml(block: str) -> Any:
    """The block's value, with aliases allowed only while their expansion stays within ``bounded``'s limits."""
    import yaml  # PyYAML comes with huggingface_hub; imported lazily to keep the server start light

    loader = yaml.SafeLoader(block)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node)
        return bounded.check_value(loader.construct_document(node))
    finally:
        loader.dispose()


def card_metadata(text: str | None) -> dict[str, Any] | None:
    """The card's metadata dict, or None when there is none or it does not parse."""
    block = _front_matter(text or "")
    if block is None:
        return None
    try:
        data = _load_yaml(block)
    except Exception:  # an invalid (or bomb-like) card must not break repo info, nor a listing
        return None
    return data if isinstance(data, dict) else None


# The license identifiers the Hugging Face Hub knows (https://huggingface.co/docs/hub/repositories-licenses).
KNOWN_LICENSES = frozenset("""
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m
afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0
cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0
cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl
gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr
mpl-2.0 odc-by odbl openmdw-1.0 openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
deepfloyd-if-license fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3 llama4
grok2-community gemma unknown other
""".split())


def space_readme(name: str, sdk: str | None) -> bytes:
    """The card a new Space starts with: its title and SDK in the metadata, as the Hugging Face Hub writes."""
    lines = ["---", f"title: {name}", "emoji: 🚀", "colorFrom: blue", "colorTo: green"]
    if sdk:
        lines.append(f"sdk: {sdk}")
    lines += ["pinned: false", "---", "", f"# {name}", ""]
    return "\n".join(lines).encode()


def _check_license(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    if all(isinstance(v, str) and v.lower() in KNOWN_LICENSES for v in values):
        return []
    return [f'"license" must be one of [{", ".join(sorted(KNOWN_LICENSES))}] (got {value!r}); use "other" with '
            '"license_name" and "license_link" for another license.']


def _check_model_index(value: Any) -> list[str]:
    """``model-index``: a list of {name, results: [{task: {type}, dataset: {type, name}, metrics: [{type,
    value}]}]} (the Hub's evaluation-results format)."""
    where = '"model-index"'
    if not isinstance(value, list):
        return [f'{where} must be an array of models ({{name, results}}), got {type(value).__name__}.']
    for i, model in enumerate(value):
        if not isinstance(model, dict) or not isinstance(model.get("name"), str):
            return [f'{where}[{i}] must be an object with a "name" (string) and "results" (array).']
        results = model.get("results")
        if not isinstance(results, list):
            return [f'{where}[{i}].results must be an array of {{task, dataset, metrics}}.']
        for j, result in enumerate(results):
            at = f"{where}[{i}].results[{j}]"
            if not isinstance(result, dict):
                return [f"{at} must be an object with task, dataset and metrics."]
            task = result.get("task")
            if not isinstance(task, dict) or not isinstance(task.get("type"), str):
                return [f'{at}.task must be an object with a "type" (string), e.g. text-classification.']
            dataset = result.get("dataset")
            if dataset is not None and not (isinstance(dataset, dict) and isinstance(dataset.get("type"), str)
                                            and isinstance(dataset.get("name"), str)):
                return [f'{at}.dataset must be an object with "type" and "name" (strings).']
            metrics = result.get("metrics")
            if metrics is not None and not (isinstance(metrics, list) and all(
                    isinstance(m, dict) and isinstance(m.get("type"), str) and "value" in m for m in metrics)):
                return [f'{at}.metrics must be an array of objects with a "type" (string) and a "value".']
    return []


def check_card(text: str, repo_type: str = "model") -> tuple[list[str], list[str]]:
    """(errors, warnings) of a card's metadata, as the Hugging Face Hub's ``validate-yaml`` reports them: the
    YAML must parse to a mapping, ``license`` must be a known id and a model's ``model-index`` well formed; a
    card without metadata is a warning."""
    errors = validate_card(text)
    if errors:
        return errors, []
    data = card_metadata(text)
    if not data:
        return [], ["Empty or missing metadata in the card: add a YAML block (license, tags, datasets...) at the "
                    "top of README.md between '---' lines."]
    if "license" in data:
        errors += _check_license(data["license"])
    if repo_type == "model" and "model-index" in data:
        errors += _check_model_index(data["model-index"])
    return errors, []


def validate_card(text: str) -> list[str]:
    """Problems parsing a card's metadata block (empty list when fine, or when there is no block)."""
    block = _front_matter(text)
    if block is None:
        return []
    try:
        data = _load_yaml(block)
    except ImportError:
        return []
    except bounded.ContentTooComplex as err:
        return [f"The README.md metadata block is too large or too deeply nested to be served: {err}. Keep it "
                f"under {bounded.MAX_DEPTH} levels, and write repeated values out rather than through aliases."]
    except RecursionError:
        return [f"The README.md metadata block is nested deeper than {bounded.MAX_DEPTH} levels."]
    except Exception as err:
        return [f"Invalid YAML in the README.md metadata block: {err}".replace("\n", " ")]
    if data is not None and not isinstance(data, dict):
        return [f"The README.md metadata block must be a YAML mapping (key: value), got {type(data).__name__}."]
    return []
