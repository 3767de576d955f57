"""Build corpus repositories on disk and run them, in this process (modelyard) or as a script for the
reference library's interpreter (``REFERENCE_SCRIPT``, which imports only transformers and torch).

Weights are made here, not by either library's initialisers: each floating-point tensor of the model gets
small multiples of 1/32 from a generator seeded by the repository's name, so both libraries load the very
same, exactly representable values.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import subprocess
import textwrap
import zlib
from pathlib import Path
from typing import Any

import torch
from _dynamic_helpers import write_files
from corpus.repo import CorpusRepo
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PYTHON = ROOT / ".venv-ref" / "bin" / "python"


def deterministic_weights(model: torch.nn.Module, seed_name: str) -> dict[str, torch.Tensor]:
    """One tensor per storage (tied weights saved once, under their first name, as both libraries save them)."""
    generator = torch.Generator().manual_seed(zlib.crc32(seed_name.encode()))
    tensors: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for key, value in model.state_dict().items():
        pointer = value.untyped_storage().data_ptr()
        if pointer in seen:
            continue
        seen.add(pointer)
        if not value.is_floating_point():
            tensors[key] = value.clone()
        elif key.endswith("running_var"):
            tensors[key] = torch.randint(1, 9, value.shape, generator=generator).float() / 8
        else:
            tensors[key] = torch.randint(-8, 9, value.shape, generator=generator).float() / 32
    return tensors


def build(repo: CorpusRepo, folder: Path) -> Path:
    """Write the repository's files and weights (its model made by modelyard from the config, values set here)."""
    import modelyard

    write_files(folder, {**repo.files, **(repo.assets() if repo.assets else {})})
    config = modelyard.AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = getattr(modelyard, repo.auto_class).from_config(config)
    tensors = deterministic_weights(model, repo.name)
    for key, shape in repo.extra.get("unexpected_weights", {}).items():  # checkpoint keys the model class never builds
        tensors[key] = torch.full(shape, 0.25)
    save_file(tensors, folder / "model.safetensors", metadata={"format": "pt"})
    return folder


def tensor_digest(tensor: torch.Tensor) -> str:
    data = tensor.detach().to("cpu").contiguous()
    return f"{data.dtype}{tuple(data.shape)}:" + hashlib.sha256(data.numpy().tobytes()).hexdigest()


def model_inputs(repo: CorpusRepo, inputs: dict[str, Any]) -> dict[str, torch.Tensor]:
    def dtype(key: str) -> torch.dtype:
        return torch.float32 if key in repo.float_inputs else torch.bool if key in repo.bool_inputs else torch.long

    return {key: torch.tensor(value, dtype=dtype(key)) for key, value in inputs.items()}


def run_text_chat(model: Any, tokenizer: Any, calls: list[dict[str, Any]]) -> list[Any]:
    """Call a model's own chat helpers with its tokenizer, in order, each as JSON values: what it returns, or for
    a streaming helper (``"stream": True``) every value it yields. ``"continue": True`` passes the history the
    previous call gave back (the second item of its result, or of its last yield) as ``history=``.

    Run as is by both libraries (its source goes into the reference's script).
    """
    import json as _json

    results: list[Any] = []
    history = None
    for call in calls:
        kwargs = dict(call.get("kwargs", {}))
        if call.get("continue"):
            kwargs["history"] = history
        result = getattr(model, call["method"])(tokenizer, *call.get("args", ()), **kwargs)
        if call.get("stream"):
            result = list(result)
            last = result[-1] if result else None
        else:
            last = result
        if isinstance(last, (tuple, list)) and len(last) == 2:
            history = last[1]
        results.append(_json.loads(_json.dumps(result, default=str)))
    return results


REFERENCE_SCRIPT = "from __future__ import annotations\n" + inspect.getsource(run_text_chat) + textwrap.dedent(
    '''
    import hashlib, json, sys, traceback
    import torch
    import transformers

    def digest(tensor):
        data = tensor.detach().to("cpu").contiguous()
        return f"{data.dtype}{tuple(data.shape)}:" + hashlib.sha256(data.numpy().tobytes()).hexdigest()

    def field(output, name):
        return output[int(name)] if name.isdigit() else getattr(output, name)

    def dtype(entry, key):
        return (torch.float32 if key in entry["float_inputs"] else torch.bool if key in entry["bool_inputs"]
                else torch.long)

    spec = json.loads(open(sys.argv[1]).read())
    results = {}
    for entry in spec:
        try:
            options = {"trust_remote_code": True, **entry.get("options", {})}
            loaded = getattr(transformers, entry["auto_class"]).from_pretrained(
                entry["location"], output_loading_info=True, **options)
            # a class with its own from_pretrained (nomic-bert's) may give the model alone: no load report then
            model, info = loaded if isinstance(loaded, tuple) else (loaded, None)
            model.eval()
            inputs = dict(entry["inputs"])
            record = {"class": type(model).__name__,
                      "loading_info": None if info is None else {k: sorted(info[k]) for k in ("missing_keys",
                                                                                             "unexpected_keys")}}
            if entry.get("texts"):
                tokenizer = transformers.AutoTokenizer.from_pretrained(entry["location"], **options)
                encoded = tokenizer(entry["texts"], padding=True)
                record["tokenizer_class"] = type(tokenizer).__name__
                record["tokens"] = {k: encoded[k] for k in ("input_ids", "attention_mask")}
                inputs = dict(record["tokens"])
                if entry.get("decode"):
                    record["pieces"] = [tokenizer.tokenize(text) for text in entry["texts"]]
                    record["decoded"] = [tokenizer.decode(ids, **entry["decode"]) for ids in encoded["input_ids"]]
            tensors = {k: torch.tensor(v, dtype=dtype(entry, k)) for k, v in inputs.items()}
            with torch.no_grad():
                output = model(**tensors)
            record["weights"] = {k: digest(v) for k, v in model.state_dict().items()}
            record["outputs"] = {name: field(output, name).tolist() for name in entry["outputs"]}
            with torch.no_grad():
                if entry.get("generate"):
                    record["generated"] = model.generate(**tensors, **entry["generate"]).tolist()
                if entry.get("beam"):
                    record["beam"] = model.generate(**tensors, **entry["beam"]).tolist()
                if entry.get("encode"):
                    record["encoded"] = model.encode(**entry["encode"]).tolist()
                if entry.get("chat"):
                    record["chat"] = model.chat(tensors["input_ids"], tensors["attention_mask"], **entry["chat"])
                if entry.get("text_chat"):
                    chat_tokenizer = transformers.AutoTokenizer.from_pretrained(entry["location"], **options)
                    record["text_chat"] = run_text_chat(model, chat_tokenizer, entry["text_chat"])
            results[entry["name"]] = record
        except Exception:
            results[entry["name"]] = {"error": traceback.format_exc()}
    print(json.dumps(results))
    '''
)


def run_reference(entries: list[dict[str, Any]], workdir: Path, *, env: dict[str, str] | None = None,
                  python: Path = REFERENCE_PYTHON) -> dict[str, Any]:
    """Run the reference script over ``entries`` (``name``, ``location``, ``auto_class``, ``inputs``, ...) with
    the reference's interpreter (``python``: another release's, for the 5.x comparison)."""
    spec = workdir / "reference-spec.json"
    spec.write_text(json.dumps(entries))
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "HF_HOME": str(workdir / "ref-hf"),
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TRANSFORMERS_VERBOSITY": "error",
        "PYTHONWARNINGS": "ignore",
        **(env or {}),
    }
    result = subprocess.run(
        [str(python), "-c", REFERENCE_SCRIPT, str(spec)],
        capture_output=True, text=True, timeout=600, env=full_env, cwd=workdir,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def reference_entry(repo: CorpusRepo, location: str, **options: Any) -> dict[str, Any]:
    return {
        "name": repo.name, "location": location, "auto_class": repo.auto_class, "inputs": repo.inputs,
        "float_inputs": list(repo.float_inputs), "bool_inputs": list(repo.bool_inputs), "outputs": list(repo.outputs),
        "texts": repo.tokenizer_text, "decode": repo.extra.get("decode"), "encode": repo.extra.get("encode"),
        "options": options, "generate": repo.extra.get("generate"), "beam": repo.extra.get("beam"),
        "chat": repo.extra.get("chat"), "text_chat": repo.extra.get("text_chat"),
    }


def output_tolerance(expected: torch.Tensor) -> dict[str, float]:
    """float32 through a few small layers (sums of at most a few dozen terms per value): agreement to ~1e-5
    relative to the output's own scale, whatever the CPU's kernels."""
    scale = max(1.0, float(expected.abs().max())) if expected.numel() else 1.0
    return {"rtol": 1e-5, "atol": 1e-5 * scale}
