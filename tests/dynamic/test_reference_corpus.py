"""Custom code written for the transformers library runs on modelyard (issue 11, section 3).

The corpus (``_reference_corpus.py``) holds repositories written the way the reference's users write them;
each is loaded through modelyard's Auto classes with ``trust_remote_code=True``. Where the reference
environment (``.venv-ref``) exists, the same folders load in the reference library, and both must hold
bit-identical weights and give the same outputs within a float32 tolerance.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from _corpus_runner import (
    REFERENCE_PYTHON,
    build,
    model_inputs,
    output_tolerance,
    reference_entry,
    run_reference,
    run_text_chat,
    tensor_digest,
)
from _dynamic_helpers import write_files
from _reference_corpus import BY_NAME, CORPUS, PINNED
from corpus.repo import CorpusRepo, output_field
from safetensors.torch import load_file

import modelyard
from modelyard.dynamic_modules import cache

HAS_REFERENCE = REFERENCE_PYTHON.exists()


def _params() -> list[Any]:
    params = []
    for repo in CORPUS:
        marks = [pytest.mark.xfail(strict=True, reason=repo.xfail)] if repo.xfail else []
        params.append(pytest.param(repo.name, marks=marks, id=repo.name))
    return params


@pytest.fixture(scope="module")
def corpus_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """Every corpus repository on disk with its weights (built once for the module, in its own homes)."""
    root = tmp_path_factory.mktemp("corpus")
    folders: dict[str, Path] = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"HOME": root / "home", "HF_HOME": root / "hf", "HF_HUB_CACHE": root / "hf" / "hub",
                            "MODELYARD_HOME": root / "modelyard"}.items():
            patch.setenv(name, str(value))
        patch.setenv("HF_HUB_OFFLINE", "1")
        for repo in CORPUS:
            try:
                folders[repo.name] = build(repo, root / repo.name)
            except Exception:  # noqa: BLE001 - the per-repository test reports the failure itself
                continue
        for name in cache.loaded_module_names():
            sys.modules.pop(name, None)
    yield folders


@pytest.fixture(scope="module")
def reference_results(corpus_folders: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not HAS_REFERENCE:
        pytest.skip("the reference environment .venv-ref is not built (make reference)")
    entries = [reference_entry(BY_NAME[name], str(folder)) for name, folder in corpus_folders.items()]
    return run_reference(entries, tmp_path_factory.mktemp("reference-run"))


def _load(repo: CorpusRepo, location: str | Path, **options: Any) -> tuple[Any, dict[str, Any], Any]:
    """``(model, inputs, outputs)`` through modelyard's Auto classes; the load report is ``model.corpus_loading_info``
    (None where the repository's own ``from_pretrained`` gives the model alone, as nomic-bert's does)."""
    loaded = getattr(modelyard, repo.auto_class).from_pretrained(location, trust_remote_code=True,
                                                                 output_loading_info=True, **options)
    model, info = loaded if isinstance(loaded, tuple) else (loaded, None)
    model.corpus_loading_info = None if info is None else {
        key: sorted(info[key]) for key in ("missing_keys", "unexpected_keys")}
    inputs: dict[str, Any] = dict(repo.inputs)
    if repo.tokenizer_text:
        tokenizer = _tokenizer(repo, location, **options)
        encoded = tokenizer(repo.tokenizer_text, padding=True)
        inputs = {key: encoded[key] for key in ("input_ids", "attention_mask")}
    with torch.no_grad():
        outputs = model(**model_inputs(repo, inputs))
    return model, inputs, outputs


def _tokenizer(repo: CorpusRepo, location: str | Path, **options: Any) -> Any:
    return modelyard.AutoTokenizer.from_pretrained(location, trust_remote_code=True, **options)


def _build_here(repo: CorpusRepo, tmp_path: Path, corpus_folders: dict[str, Path]) -> Path:
    if repo.name in corpus_folders:
        return corpus_folders[repo.name]
    return build(repo, tmp_path / repo.name)  # fails with the load's own error


@pytest.mark.parametrize("name", _params())
def test_corpus_repository_runs_on_modelyard(name: str, corpus_folders: dict[str, Path], tmp_path: Path) -> None:
    repo = BY_NAME[name]
    folder = _build_here(repo, tmp_path, corpus_folders)
    model, _, outputs = _load(repo, folder)
    assert type(model).__name__ == repo.model_class
    assert type(model).__module__.startswith("modelyard_modules.local.")
    assert isinstance(model, modelyard.PreTrainedModel)  # the remote class is a modelyard model
    saved = load_file(folder / "model.safetensors")
    state = model.state_dict()
    unexpected = sorted(repo.extra.get("unexpected_weights", {}))
    if model.corpus_loading_info is not None:  # missing ones: compared with the reference's
        assert model.corpus_loading_info["unexpected_keys"] == unexpected
    for key, tensor in saved.items():
        assert key in unexpected or torch.equal(state[key], tensor), f"{key} differs from the checkpoint"
    for tied, source in [repo.extra["tied"]] if "tied" in repo.extra else []:
        assert state[tied].data_ptr() == state[source].data_ptr(), f"{tied} is not tied to {source}"
    for field in repo.outputs:
        value = output_field(outputs, field)
        assert isinstance(value, torch.Tensor) and bool(torch.isfinite(value).all()), field
    assert "transformers" not in sys.modules, "the compatibility namespace leaked into sys.modules"


@pytest.mark.reference
@pytest.mark.skipif(not HAS_REFERENCE, reason="the reference environment .venv-ref is not built (make reference)")
@pytest.mark.parametrize("name", _params())
def test_corpus_repository_matches_the_reference(name: str, corpus_folders: dict[str, Path], reference_results: dict[str, Any],
                                                 tmp_path: Path) -> None:
    repo = BY_NAME[name]
    folder = _build_here(repo, tmp_path, corpus_folders)
    theirs = reference_results[name]
    assert "error" not in theirs, theirs.get("error")
    model, inputs, outputs = _load(repo, folder)
    assert theirs["class"] == type(model).__name__
    assert model.corpus_loading_info == theirs["loading_info"], "the loads report different missing or unused keys"
    if repo.tokenizer_text:
        assert theirs["tokens"] == inputs, "the tokenizers disagree"
        assert theirs["tokenizer_class"] == type(_tokenizer(repo, folder)).__name__
    if "decode" in repo.extra:
        assert repo.tokenizer_text
        tokenizer = _tokenizer(repo, folder)
        assert [tokenizer.tokenize(text) for text in repo.tokenizer_text] == theirs["pieces"]
        assert [tokenizer.decode(ids, **repo.extra["decode"]) for ids in inputs["input_ids"]] == theirs["decoded"]
    ours = {key: tensor_digest(value) for key, value in model.state_dict().items()}
    assert ours == theirs["weights"], "weights differ between modelyard and the reference"
    for field in repo.outputs:
        expected = torch.tensor(theirs["outputs"][field])
        torch.testing.assert_close(output_field(outputs, field), expected, **output_tolerance(expected))
    if "encode" in repo.extra:  # an embedding model's own encode() helper (tokenizer, pooling, normalisation)
        expected = torch.tensor(theirs["encoded"])
        torch.testing.assert_close(torch.as_tensor(model.encode(**repo.extra["encode"])), expected,
                                   **output_tolerance(expected))
    _assert_same_generation(repo, model, inputs, theirs)
    _assert_same_text_chat(repo, model, folder, theirs)


def _assert_same_generation(repo: CorpusRepo, model: Any, inputs: dict[str, Any], theirs: dict[str, Any]) -> None:
    """A decoder: the same tokens from generate() (greedy, beams) and from its own token-level chat()."""
    tensors = model_inputs(repo, inputs)
    with torch.no_grad():
        if "generate" in repo.extra:
            assert model.generate(**tensors, **repo.extra["generate"]).tolist() == theirs["generated"]
        if "beam" in repo.extra:
            assert model.generate(**tensors, **repo.extra["beam"]).tolist() == theirs["beam"]
        if "chat" in repo.extra:
            replies = model.chat(tensors["input_ids"], tensors["attention_mask"], **repo.extra["chat"])
            assert replies == theirs["chat"] and not any(3 in reply for reply in replies)


def _assert_same_text_chat(repo: CorpusRepo, model: Any, location: str | Path, theirs: dict[str, Any],
                           **options: Any) -> None:
    """The model's own chat helpers (``chat()``, ``stream_chat()``, ...) with its own tokenizer answer as the
    reference's do."""
    if "text_chat" in repo.extra:
        tokenizer = modelyard.AutoTokenizer.from_pretrained(location, trust_remote_code=True, **options)
        assert run_text_chat(model, tokenizer, repo.extra["text_chat"]) == theirs["text_chat"]


# ------------------------------------------------------------------ through the embedded hub, pinned
def _push(api: Any, repo_id: str, folder: Path) -> str:
    api.create_repo(repo_id, exist_ok=True)
    return api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message="custom code for transformers").oid


def _push_breaking_change(api: Any, repo_id: str, repo: CorpusRepo, folder: Path) -> None:
    """A later commit in which every code file raises when imported (model, configuration, tokenizer and helper
    files, whatever their names: Falcon-RW's is ``modelling_RW.py``), so a load not pinned to the first commit
    fails."""
    write_files(folder, {name: text + "\nraise RuntimeError('later push')\n"
                         for name, text in repo.files.items() if name.endswith(".py")})
    api.upload_folder(repo_id=repo_id, folder_path=str(folder), commit_message="later")


@pytest.mark.parametrize("name", ["sequence_classification", "tokenizer_with_auto_map"])
def test_corpus_repository_from_the_hub_pinned_to_a_commit(name: str, hub_env: Any, corpus_folders: dict[str, Path],
                                                          tmp_path: Path) -> None:
    repo = BY_NAME[name]
    folder = _build_here(repo, tmp_path, corpus_folders)
    api = hub_env.api()
    repo_id = hub_env.repo_id(name.replace("_", "-"))
    commit = _push(api, repo_id, folder)
    _push_breaking_change(api, repo_id, repo, tmp_path / "changed")  # the pinned load must not see it
    model, inputs, outputs = _load(repo, repo_id, revision=commit)
    assert f".c_{commit}" in type(model).__module__
    _, local_inputs, local_outputs = _load(repo, folder)
    assert inputs == local_inputs
    for field in repo.outputs:
        expected = output_field(local_outputs, field)
        torch.testing.assert_close(output_field(outputs, field), expected, **output_tolerance(expected))
    if HAS_REFERENCE:
        env = {"HF_ENDPOINT": hub_env.url, "HF_TOKEN": hub_env.token, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1"}
        theirs = run_reference([reference_entry(repo, repo_id, revision=commit)], tmp_path, env=env)[name]
        assert "error" not in theirs, theirs.get("error")
        assert theirs["weights"] == {key: tensor_digest(value) for key, value in model.state_dict().items()}
        if repo.tokenizer_text:
            assert theirs["tokens"] == inputs
        for field in repo.outputs:
            expected = torch.tensor(theirs["outputs"][field])
            torch.testing.assert_close(output_field(outputs, field), expected, **output_tolerance(expected))


@pytest.fixture(scope="module")
def package_on_the_hub(hub_server: Any, corpus_folders: dict[str, Path],
                       tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, tuple[str, str]], dict[str, Any]]:
    """The package's repositories and every decoder of the corpus pushed to the embedded hub, each followed by a later
    push that breaks its code: ``({name: (repo_id, pinned commit)}, the reference's results loading them pinned)``, in
    one reference run."""
    pinned: dict[str, tuple[str, str]] = {}
    theirs: dict[str, Any] = {}
    workdir = tmp_path_factory.mktemp("pinned")
    with hub_server.env():
        api = hub_server.api()
        for repo in PINNED:
            if repo.name not in corpus_folders:
                continue
            repo_id = hub_server.repo_id(repo.name.replace("_", "-"))
            commit = _push(api, repo_id, corpus_folders[repo.name])
            _push_breaking_change(api, repo_id, repo, workdir / repo.name)
            pinned[repo.name] = (repo_id, commit)
        if HAS_REFERENCE:
            env = {"HF_ENDPOINT": hub_server.url, "HF_TOKEN": hub_server.token, "HF_HUB_OFFLINE": "0",
                   "HF_HUB_DISABLE_XET": "1"}
            entries = [reference_entry(BY_NAME[name], repo_id, revision=commit) for name, (repo_id, commit) in pinned.items()]
            theirs = run_reference(entries, workdir, env=env)
    return pinned, theirs


@pytest.mark.parametrize("name", [repo.name for repo in PINNED])
def test_package_repository_from_the_hub_pinned_to_a_commit(name: str, hub_env: Any, corpus_folders: dict[str, Path],
                                                           package_on_the_hub: tuple[dict[str, tuple[str, str]], dict[str, Any]],
                                                           tmp_path: Path) -> None:
    """Loaded from the embedded hub at the commit it was pushed in (a later push breaks the code): the same token
    ids and outputs as from its folder, and where the reference is there, its weights, token ids, outputs, greedy
    and beam tokens, and what the model's own chat helpers answer."""
    repo = BY_NAME[name]
    pinned, reference = package_on_the_hub
    assert name in pinned, f"{name} could not be built (see test_corpus_repository_runs_on_modelyard)"
    repo_id, commit = pinned[name]
    model, inputs, outputs = _load(repo, repo_id, revision=commit)
    assert f".c_{commit}" in type(model).__module__
    _, local_inputs, local_outputs = _load(repo, corpus_folders[name])
    assert inputs == local_inputs
    for field in repo.outputs:
        expected = output_field(local_outputs, field)
        torch.testing.assert_close(output_field(outputs, field), expected, **output_tolerance(expected))
    if not HAS_REFERENCE:
        return
    theirs = reference[name]
    assert "error" not in theirs, theirs.get("error")
    assert model.corpus_loading_info == theirs["loading_info"]
    assert theirs["weights"] == {key: tensor_digest(value) for key, value in model.state_dict().items()}
    if repo.tokenizer_text:
        assert theirs["tokens"] == inputs
    for field in repo.outputs:
        expected = torch.tensor(theirs["outputs"][field])
        torch.testing.assert_close(output_field(outputs, field), expected, **output_tolerance(expected))
    _assert_same_generation(repo, model, inputs, theirs)
    _assert_same_text_chat(repo, model, repo_id, theirs, revision=commit)
