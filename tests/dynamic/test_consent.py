"""The trust gate: trust_remote_code False / True / None (terminal or not), trusted publishers, built-in stand-ins."""

from __future__ import annotations

import json
import logging
import os
import pty
import select
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from _dynamic_helpers import (
    EXAMPLE,
    hub_cache_repo,
    marker_code,
    toy_config_json,
    toy_files,
    toy_repo,
    write_files,
)

from modelyard import AutoConfig, AutoModel, AutoModelForImageClassification
from modelyard.dynamic_modules import cache, modules_cache_dir, set_trusted_publishers, trusted_publishers
from modelyard.errors import ConfigurationError, TrustRemoteCodeError

COMMIT = "c0ffee" + "0" * 34


def _marked_repo(folder: Path, marker: Path) -> Path:
    toy_repo(folder)
    code = (folder / "configuration_toy.py").read_text()
    (folder / "configuration_toy.py").write_text(marker_code(marker) + code)
    return folder


def _nothing_imported_or_copied(marker: Path, loaded_before: list[str]) -> None:
    """``loaded_before``: remote-code modules other tests in this process had legitimately loaded."""
    assert not marker.exists(), "repository code ran without consent"
    assert cache.loaded_module_names() == loaded_before
    copied = list(modules_cache_dir().rglob("*.py")) if modules_cache_dir().exists() else []
    assert copied == [], f"code was copied into the module cache without consent: {copied}"


@pytest.mark.parametrize("trust", [False, None])
@pytest.mark.parametrize("auto", [AutoConfig, AutoModel])
def test_no_consent_imports_nothing_and_says_how_to_allow(tmp_path: Path, trust: bool | None, auto: type) -> None:
    marker = tmp_path / "marker"
    folder = _marked_repo(tmp_path / "my.toy-repo", marker)
    loaded_before = cache.loaded_module_names()
    started = time.monotonic()
    with pytest.raises(TrustRemoteCodeError) as info:
        auto.from_pretrained(folder, trust_remote_code=trust)
    assert time.monotonic() - started < 5  # off a terminal nothing waits for an answer
    message = str(info.value)
    assert str(folder) in message and "configuration_toy.py" in message and "ToyConfig" in message
    assert "trust_remote_code=True" in message
    assert ("trust_remote_code=False" if trust is False else "no terminal to ask on") in message
    _nothing_imported_or_copied(marker, loaded_before)


def test_default_is_not_trusted(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    folder = _marked_repo(tmp_path / "repo", marker)
    loaded_before = cache.loaded_module_names()
    with pytest.raises(TrustRemoteCodeError):
        AutoConfig.from_pretrained(folder)
    _nothing_imported_or_copied(marker, loaded_before)


def test_true_imports_under_a_private_package(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    folder = _marked_repo(tmp_path / "repo", marker)
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert type(config).__name__ == "ToyConfig" and config.width == 4
    assert type(config).__module__.startswith("modelyard_modules.local.")
    assert marker.exists()


def test_refusal_for_a_hub_repository_names_commit_and_publisher(offline: None, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    files = {**toy_files(), "config.json": toy_config_json()}
    files["configuration_toy.py"] = marker_code(marker) + files["configuration_toy.py"]
    hub_cache_repo("acme/toy-net", COMMIT, files)
    loaded_before = cache.loaded_module_names()
    with pytest.raises(TrustRemoteCodeError) as info:
        AutoConfig.from_pretrained("acme/toy-net")
    message = str(info.value)
    assert "'acme/toy-net'" in message and COMMIT in message
    # The suite's HF_ENDPOINT is not huggingface.co: the setting to suggest names this hub too.
    assert f"revision={COMMIT!r}" in message and "MODELYARD_TRUSTED_PUBLISHERS=http://127.0.0.1:9/acme" in message
    _nothing_imported_or_copied(marker, loaded_before)


def test_trusted_publishers_from_the_environment(offline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")  # where bare namespaces are trusted
    hub_cache_repo("acme/toy-net", COMMIT, {**toy_files(), "config.json": toy_config_json()})
    hub_cache_repo("stranger/toy-net", COMMIT, {**toy_files(), "config.json": toy_config_json()})
    monkeypatch.setenv("MODELYARD_TRUSTED_PUBLISHERS", " other-org , ACME ")
    assert trusted_publishers() == {"other-org", "acme"}
    assert type(AutoConfig.from_pretrained("acme/toy-net")).__name__ == "ToyConfig"
    with pytest.raises(TrustRemoteCodeError):  # an explicit no wins over the deployment setting
        AutoConfig.from_pretrained("acme/toy-net", trust_remote_code=False)
    with pytest.raises(TrustRemoteCodeError):
        AutoConfig.from_pretrained("stranger/toy-net")


def test_trusted_publishers_set_in_code(offline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "https://huggingface.co")
    hub_cache_repo("acme/toy-net", COMMIT, {**toy_files(), "config.json": toy_config_json()})
    set_trusted_publishers(["acme"])
    assert type(AutoConfig.from_pretrained("acme/toy-net")).__name__ == "ToyConfig"
    set_trusted_publishers(None)
    with pytest.raises(TrustRemoteCodeError):
        AutoConfig.from_pretrained("acme/toy-net")
    with pytest.raises(ConfigurationError, match="namespace"):
        set_trusted_publishers(["acme/toy-net"])


def test_publisher_trust_never_applies_to_local_folders(tmp_path: Path) -> None:
    set_trusted_publishers(["acme"])
    folder = toy_repo(tmp_path / "acme")
    with pytest.raises(TrustRemoteCodeError):
        AutoConfig.from_pretrained(folder)


# ------------------------------------------------------------------------------------ prompt on a terminal
def _run_on_terminal(folder: Path, answer: bytes | None, timeout_s: str) -> tuple[int, str]:
    """Run a load with trust_remote_code=None in a child whose stdin/stdout are a pseudo-terminal."""
    code = textwrap.dedent(
        f"""
        from modelyard import AutoConfig
        from modelyard.errors import TrustRemoteCodeError
        try:
            config = AutoConfig.from_pretrained({str(folder)!r})
            print("RESULT", type(config).__name__, flush=True)
        except TrustRemoteCodeError as err:
            print("REFUSED", str(err)[:80], flush=True)
        """
    )
    master, slave = pty.openpty()
    env = {**os.environ, "MODELYARD_TRUST_PROMPT_TIMEOUT": timeout_s}
    child = subprocess.Popen([sys.executable, "-c", code], stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        if answer is not None and not answered and b"[y/N]" in output:
            os.write(master, answer)
            answered = True
        if child.poll() is not None and not ready:
            break
    child.wait(timeout=30)
    os.close(master)
    return child.returncode, output.decode(errors="replace")


@pytest.mark.parametrize(("answer", "expected"), [(b"y\n", "RESULT ToyConfig"), (b"n\n", "REFUSED"), (None, "REFUSED")])
def test_prompt_on_a_terminal(tmp_path: Path, answer: bytes | None, expected: str) -> None:
    folder = toy_repo(tmp_path / "repo")
    started = time.monotonic()
    returncode, output = _run_on_terminal(folder, answer, timeout_s="1")
    assert returncode == 0, output
    assert "ToyConfig in configuration_toy.py" in output and "[y/N]" in output
    assert expected in output, output
    if answer is None:
        assert "No answer in time" in output
        assert time.monotonic() - started < 30


def test_prompt_can_be_switched_off(tmp_path: Path) -> None:
    folder = toy_repo(tmp_path / "repo")
    returncode, output = _run_on_terminal(folder, b"y\n", timeout_s="0")
    assert "[y/N]" not in output and "REFUSED" in output, output


# ------------------------------------------------------------------------------------ built-in stand-ins
def _bert_repo(folder: Path, marker: Path, *, fitting_weights: bool) -> Path:
    from modelyard import BertConfig, BertModel

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    BertModel(config).save_pretrained(folder)
    data = json.loads((folder / "config.json").read_text())
    data["auto_map"] = {"AutoConfig": "configuration_toy.ToyConfig", "AutoModel": "modeling_toy.ToyModel"}
    (folder / "config.json").write_text(json.dumps(data))
    files = toy_files(model_type="bert")
    files["configuration_toy.py"] = marker_code(marker) + files["configuration_toy.py"]
    files["modeling_toy.py"] = marker_code(marker) + files["modeling_toy.py"]
    write_files(folder, files)
    if not fitting_weights:
        from _dynamic_helpers import toy_weights

        (folder / "model.safetensors").write_bytes(toy_weights())
    return folder


def test_builtin_stands_in_only_when_the_checkpoint_fits(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    marker = tmp_path / "marker"
    folder = _bert_repo(tmp_path / "fits", marker, fitting_weights=True)
    with caplog.at_level(logging.WARNING):
        model = AutoModel.from_pretrained(folder, trust_remote_code=False)
    assert type(model).__name__ == "BertModel"
    assert "built-in BertModel stands in for it" in caplog.text
    assert not marker.exists()


def test_never_a_mostly_random_builtin(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    folder = _bert_repo(tmp_path / "misfit", marker, fitting_weights=False)
    for trust in (False, None):
        with pytest.raises(TrustRemoteCodeError) as info:
            AutoModel.from_pretrained(folder, trust_remote_code=trust)
        assert "do not fit the built-in BertModel" in str(info.value)
    assert not marker.exists()
    model = AutoModel.from_pretrained(folder, trust_remote_code=True)
    assert type(model).__name__ == "ToyModel"


def test_the_documents_resnet_is_never_the_builtin_resnet(tmp_path: Path) -> None:
    """model_type "resnet" is also the built-in ResNet's: without consent, the trust error, not random weights."""
    folder = tmp_path / "custom-resnet50d"
    shutil.copytree(EXAMPLE / "resnet_model", folder, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    config = {
        "model_type": "resnet",
        "block_type": "bottleneck",
        "layers": [1, 1],
        "stem_type": "deep",
        "stem_width": 32,
        "avg_down": True,
        "num_classes": 10,
        "auto_map": {
            "AutoConfig": "configuration_resnet.ResnetConfig",
            "AutoModelForImageClassification": "modeling_resnet.ResnetModelForImageClassification",
        },
    }
    (folder / "config.json").write_text(json.dumps(config))
    for trust in (False, None):
        with pytest.raises(TrustRemoteCodeError) as info:
            AutoModelForImageClassification.from_pretrained(folder, trust_remote_code=trust)
        assert "unknown to ResNetConfig" in str(info.value) and "ResnetConfig" in str(info.value)
    assert cache.loaded_module_names() == []
    loaded = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert type(loaded).__name__ == "ResnetConfig" and loaded.stem_type == "deep"


def test_yes_at_the_prompt_after_a_misfit_loads_the_custom_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import modelyard.dynamic_modules as dynamic_modules

    questions: list[str] = []
    monkeypatch.setattr(dynamic_modules, "can_prompt", lambda: True)
    monkeypatch.setattr(dynamic_modules, "ask", lambda question: questions.append(question) or True)
    folder = _bert_repo(tmp_path / "misfit", tmp_path / "marker", fitting_weights=False)
    model = AutoModel.from_pretrained(folder)  # trust_remote_code=None on a "terminal"
    assert type(model).__name__ == "ToyModel"
    assert len(questions) == 1 and "do not fit the built-in BertModel" in questions[0]


def test_from_config_of_a_remote_config(tmp_path: Path) -> None:
    folder = toy_repo(tmp_path / "repo")
    config = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    model = AutoModel.from_config(config)  # the config's own code was accepted: same folder, same consent
    assert type(model).__name__ == "ToyModel" and model.config_class is type(config)
    with pytest.raises(TrustRemoteCodeError):
        AutoModel.from_config(config, trust_remote_code=False)


def test_a_checkpoint_mostly_unused_by_the_builtin_does_not_fit(tmp_path: Path) -> None:
    """All built-in weights present, but most checkpoint tensors belong to something else: not a fit."""
    from safetensors.torch import load_file, save_file

    folder = _bert_repo(tmp_path / "extra", tmp_path / "marker", fitting_weights=True)
    tensors = load_file(folder / "model.safetensors")
    extra = {f"custom_head.layers.{i}.weight": t.clone() for i, t in enumerate(tensors.values())}
    save_file({**tensors, **extra, "custom_head.scale": tensors[next(iter(tensors))].clone()}, folder / "model.safetensors")
    with pytest.raises(TrustRemoteCodeError, match="do not fit the built-in BertModel"):
        AutoModel.from_pretrained(folder, trust_remote_code=False)


def test_prompt_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.dynamic_modules.trust import prompt_timeout

    assert prompt_timeout() == 15.0
    monkeypatch.setenv("MODELYARD_TRUST_PROMPT_TIMEOUT", "2.5")
    assert prompt_timeout() == 2.5
    monkeypatch.setenv("MODELYARD_TRUST_PROMPT_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="MODELYARD_TRUST_PROMPT_TIMEOUT.*'soon'"):
        prompt_timeout()


def test_yes_at_the_prompt_continues_through_one_door(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a yes, the load goes on with the source already open and the options already split: the Auto
    class is not entered again, and the keywords given (an override, a loading option) still apply."""
    import modelyard.dynamic_modules as dynamic_modules

    monkeypatch.setattr(dynamic_modules, "can_prompt", lambda: True)
    monkeypatch.setattr(dynamic_modules, "ask", lambda question: True)
    entries: list[object] = []
    real_from_pretrained = AutoModel.from_pretrained.__func__  # type: ignore[attr-defined]

    def counting(cls: type, *args: object, **kwargs: object) -> object:
        entries.append(args[0])
        return real_from_pretrained(cls, *args, **kwargs)

    monkeypatch.setattr(AutoModel, "from_pretrained", classmethod(counting))
    folder = _bert_repo(tmp_path / "misfit", tmp_path / "marker", fitting_weights=False)
    model = AutoModel.from_pretrained(folder, output_hidden_states=True, dtype="float64")
    assert type(model).__name__ == "ToyModel" and entries == [folder]
    assert model.config.output_hidden_states is True and type(model.config).__name__ == "ToyConfig"
    assert next(model.parameters()).dtype == torch.float64


def test_code_named_by_the_loaded_folders_own_repository_id_comes_from_that_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy of a repository kept under its id (``owner/repo`` relative to the working directory) whose auto_map
    names its own repository (``owner/repo--module.Class``) runs its own code, as in the reference; the trust gate
    still applies, and any other repository id still means the hub."""
    from modelyard import AutoTokenizer
    from modelyard.errors import HubError

    repo = tmp_path / "some-owner" / "self-named"
    repo.mkdir(parents=True)
    (repo / "tokenizer.py").write_text(textwrap.dedent("""
        from modelyard import PreTrainedTokenizer

        class NopTokenizer(PreTrainedTokenizer):
            def get_vocab(self):
                return {}
        """))
    auto_map = {"AutoTokenizer": ["some-owner/self-named--tokenizer.NopTokenizer", None]}
    (repo / "tokenizer_config.json").write_text(json.dumps({"auto_map": auto_map}))
    monkeypatch.chdir(tmp_path)
    tokenizer = AutoTokenizer.from_pretrained("some-owner/self-named", local_files_only=True, trust_remote_code=True)
    assert type(tokenizer).__name__ == "NopTokenizer"
    with pytest.raises(TrustRemoteCodeError):
        AutoTokenizer.from_pretrained("some-owner/self-named", local_files_only=True, trust_remote_code=False)
    other = {"AutoTokenizer": ["some-owner/another-repo--tokenizer.NopTokenizer", None]}
    (repo / "tokenizer_config.json").write_text(json.dumps({"auto_map": other}))
    with pytest.raises(HubError):
        AutoTokenizer.from_pretrained("some-owner/self-named", local_files_only=True, trust_remote_code=True)
