"""The custom-code corpus against transformers 5.x: which repositories written for 4.x the 5.x line still runs,
and that modelyard runs each of them.

Every entry of the corpus registry (``tests/dynamic/_reference_corpus.py``: the generic shapes, the encoder,
vision and tokenizer styles of ``tests/dynamic/corpus/`` and any decoder styles registered there) is written to
a folder with its weights, then loaded with ``trust_remote_code=True`` by

- the 4.x reference (``.venv-ref``, transformers 4.57.6): the baseline the repositories were written for;
- the newest 5.x (``.venv-ref5``, ``make reference5``);
- modelyard (this interpreter).

A column says ``same`` when the weights are bit-identical to 4.57.6's and every compared output (and the
tokenizer's ids, generate() tokens, the replies of chat() and the model's other chat helpers, encode()
embeddings where the entry has them) is equal within the corpus tolerance; otherwise what differs, or the error
(its last line). Prints a Markdown table (the README's compatibility section carries it).

    make bench-remote-code-5x
    .venv/bin/python benchmarks/bench_remote_code_5x.py [--only name,name] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dynamic"))

import torch  # noqa: E402
from _corpus_runner import (  # noqa: E402
    build,
    model_inputs,
    output_tolerance,
    reference_entry,
    run_reference,
    run_text_chat,
    tensor_digest,
)
from _reference_corpus import CORPUS  # noqa: E402
from corpus.repo import CorpusRepo, output_field  # noqa: E402

REFERENCE_4 = ROOT / ".venv-ref" / "bin" / "python"
REFERENCE_5 = ROOT / ".venv-ref5" / "bin" / "python"


def version_of(python: Path) -> str:
    result = subprocess.run([str(python), "-c", "import transformers; print(transformers.__version__)"],
                            capture_output=True, text=True, timeout=300)
    return result.stdout.strip() or "?"


def last_line(error: str) -> str:
    """The exception line of a traceback, without the file paths a message may carry."""
    lines = [line for line in error.strip().splitlines() if line.strip()]
    text = re.sub(r"\s*\((?:/|[A-Za-z]:\\)[^)]*\)", "", lines[-1] if lines else error).replace("|", "\\|")
    return text if len(text) <= 160 else text[:157] + "..."


def run_modelyard(repo: CorpusRepo, folder: Path) -> dict[str, Any]:
    """The same record the reference script makes, from modelyard's Auto classes."""
    import modelyard

    try:
        model = getattr(modelyard, repo.auto_class).from_pretrained(folder, trust_remote_code=True).eval()
        inputs: dict[str, Any] = dict(repo.inputs)
        record: dict[str, Any] = {"class": type(model).__name__}
        if repo.tokenizer_text:
            tokenizer = modelyard.AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
            encoded = tokenizer(repo.tokenizer_text, padding=True)
            record["tokens"] = {key: encoded[key] for key in ("input_ids", "attention_mask")}
            inputs = dict(record["tokens"])
            if repo.extra.get("decode"):
                record["pieces"] = [tokenizer.tokenize(text) for text in repo.tokenizer_text]
                record["decoded"] = [tokenizer.decode(ids, **repo.extra["decode"]) for ids in encoded["input_ids"]]
        tensors = model_inputs(repo, inputs)
        with torch.no_grad():
            output = model(**tensors)
            record["weights"] = {key: tensor_digest(value) for key, value in model.state_dict().items()}
            record["outputs"] = {name: output_field(output, name).tolist() for name in repo.outputs}
            if "generate" in repo.extra:
                record["generated"] = model.generate(**tensors, **repo.extra["generate"]).tolist()
            if "beam" in repo.extra:
                record["beam"] = model.generate(**tensors, **repo.extra["beam"]).tolist()
            if "encode" in repo.extra:
                record["encoded"] = torch.as_tensor(model.encode(**repo.extra["encode"])).tolist()
            if "chat" in repo.extra:
                record["chat"] = model.chat(tensors["input_ids"], tensors["attention_mask"], **repo.extra["chat"])
            if "text_chat" in repo.extra:
                tokenizer = modelyard.AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
                record["text_chat"] = run_text_chat(model, tokenizer, repo.extra["text_chat"])
        return record
    except Exception:  # noqa: BLE001 - a row of the table
        return {"error": traceback.format_exc()}


def verdict(record: dict[str, Any] | None, baseline: dict[str, Any]) -> str:
    """``same`` or what differs from the 4.57.6 record."""
    if record is None:
        return "not run"
    if "error" in record:
        return "fails: " + last_line(record["error"])
    if record["weights"].keys() != baseline["weights"].keys():
        return "differs: other weight names"
    differing = [key for key, value in record["weights"].items() if value != baseline["weights"][key]]
    if differing:
        return f"differs: {len(differing)} of {len(differing) + len(record['weights']) - len(differing)} tensors " \
               f"not loaded (e.g. {differing[0]})"
    for key in ("tokens", "pieces", "decoded", "generated", "beam", "chat", "text_chat"):
        if key in baseline and record.get(key) != baseline[key]:
            return f"differs: {key}"
    for name, expected_list in baseline["outputs"].items():
        expected = torch.tensor(expected_list)
        actual = torch.tensor(record["outputs"][name])
        if actual.shape != expected.shape or not torch.allclose(actual, expected, **output_tolerance(expected)):
            return f"differs: output {name}"
    if "encoded" in baseline:
        expected = torch.tensor(baseline["encoded"])
        if not torch.allclose(torch.tensor(record["encoded"]), expected, **output_tolerance(expected)):
            return "differs: encode()"
    return "same"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated corpus names")
    parser.add_argument("--json", default="", help="also write the raw verdicts here")
    args = parser.parse_args()
    missing = [target for python, target in ((REFERENCE_4, "make reference"), (REFERENCE_5, "make reference5"))
               if not python.exists()]
    if missing:  # `make bench` runs every benchmark: a note, not a failure
        print(f"skipped: the reference environments are not built (run {' and '.join(missing)}).")
        return 0
    wanted = {name for name in args.only.split(",") if name}
    repos = [repo for repo in CORPUS if not wanted or repo.name in wanted]
    v4, v5 = version_of(REFERENCE_4), version_of(REFERENCE_5)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, value in {"HOME": work / "home", "HF_HOME": work / "hf", "MODELYARD_HOME": work / "modelyard"}.items():
            os.environ[name] = str(value)
        os.environ["HF_HUB_OFFLINE"] = "1"
        folders: dict[str, Path] = {}
        rows: dict[str, dict[str, str]] = {}
        for repo in repos:
            try:
                folders[repo.name] = build(repo, work / repo.name)
            except Exception:  # noqa: BLE001 - a row of the table
                rows[repo.name] = {"modelyard": "fails to build: " + last_line(traceback.format_exc())}
        entries = [reference_entry(repo, str(folders[repo.name])) for repo in repos if repo.name in folders]
        (work / "ref4").mkdir()
        (work / "ref5").mkdir()
        baseline = run_reference(entries, work / "ref4", python=REFERENCE_4)
        fives = run_reference(entries, work / "ref5", python=REFERENCE_5)
        for repo in repos:
            if repo.name not in folders:
                continue
            base = baseline[repo.name]
            if "error" in base:
                rows[repo.name] = {"4": "fails: " + last_line(base["error"])}
                continue
            rows[repo.name] = {
                "4": "runs (baseline)",
                "5": verdict(fives.get(repo.name), base),
                "modelyard": verdict(run_modelyard(repo, folders[repo.name]), base),
            }
    print(f"| repository (corpus entry) | transformers {v4} | transformers {v5} | modelyard |")
    print("|---|---|---|---|")
    for repo in repos:
        row = rows[repo.name]
        print(f"| `{repo.name}` | {row.get('4', '')} | {row.get('5', '')} | {row.get('modelyard', '')} |")
    broken = sum(1 for row in rows.values() if row.get("5", "same") != "same")
    ours = sum(1 for row in rows.values() if row.get("modelyard") == "same")
    print(f"\n{len(rows)} repositories: transformers {v5} breaks {broken}; modelyard runs {ours} as {v4} does.")
    if args.json:
        Path(args.json).write_text(json.dumps({"versions": [v4, v5], "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
