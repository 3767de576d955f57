"""register_for_auto_class + save_pretrained: code copied (relative imports, subpackages), auto_map written,
and folders saved from remote-code models self-contained."""

from __future__ import annotations

import importlib
import json
import logging
import shutil
from pathlib import Path

import pytest
import torch
from _dynamic_helpers import hub_cache_repo, run_python, toy_config_json, toy_files, toy_weights, write_files
from common.tolerance import assert_close_kernels, assert_same_weights

from modelyard import AutoConfig, AutoModel
from modelyard.dynamic_modules import save_custom_code

COMMIT = "5" * 40


def _user_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> str:
    """A package the user wrote, importable in this test only."""
    name = "userpkg_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    write_files(tmp_path / "src" / name, {"__init__.py": "", "unused.py": "VALUE = 1\n", **files})
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    importlib.invalidate_caches()
    return name


def test_save_copies_relative_imports_recursively_and_writes_auto_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _user_package(tmp_path, monkeypatch, toy_files())
    config_module = importlib.import_module(f"{package}.configuration_toy")
    model_module = importlib.import_module(f"{package}.modeling_toy")
    config_module.ToyConfig.register_for_auto_class()
    model_module.ToyModel.register_for_auto_class("AutoModel")
    model = model_module.ToyModel(config_module.ToyConfig(width=3))

    written = model.save_pretrained(tmp_path / "saved")
    saved = tmp_path / "saved"
    code = sorted(p.relative_to(saved).as_posix() for p in saved.rglob("*.py"))
    assert code == ["configuration_toy.py", "helpers.py", "layers/__init__.py", "layers/blocks.py", "modeling_toy.py"]
    assert len(written) == len(set(written))  # each file once
    auto_map = json.loads((saved / "config.json").read_text())["auto_map"]
    assert auto_map == {"AutoConfig": "configuration_toy.ToyConfig", "AutoModel": "modeling_toy.ToyModel"}

    loaded = AutoModel.from_pretrained(saved, trust_remote_code=True)
    assert type(loaded).__module__.startswith("modelyard_modules.")
    assert loaded.config_class is type(loaded.config)  # one copy of the config module, one class
    x = torch.randn(2, 3)
    assert_same_weights(loaded, model)
    assert_close_kernels(loaded(x), model.eval()(x))


def test_class_in_a_subpackage_keeps_the_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep_model = '''
        from modelyard import PreTrainedModel

        from ..configuration_toy import ToyConfig
        from ..layers.blocks import Block


        class DeepModel(PreTrainedModel):
            config_class = ToyConfig

            def __init__(self, config):
                super().__init__(config)
                self.block = Block(config.width)

            def forward(self, x):
                return self.block(x)
        '''
    package = _user_package(
        tmp_path, monkeypatch, {**toy_files(), "models/__init__.py": "", "models/modeling_deep.py": deep_model}
    )
    config_class = importlib.import_module(f"{package}.configuration_toy").ToyConfig
    model_class = importlib.import_module(f"{package}.models.modeling_deep").DeepModel
    config_class.register_for_auto_class()
    model_class.register_for_auto_class("AutoModel")
    model_class(config_class()).save_pretrained(tmp_path / "saved")

    auto_map = json.loads((tmp_path / "saved" / "config.json").read_text())["auto_map"]
    assert auto_map == {"AutoConfig": "configuration_toy.ToyConfig", "AutoModel": "models.modeling_deep.DeepModel"}
    assert (tmp_path / "saved" / "models" / "__init__.py").is_file()
    loaded = AutoModel.from_pretrained(tmp_path / "saved", trust_remote_code=True)
    assert type(loaded).__name__ == "DeepModel" and loaded.config_class is type(loaded.config)


def test_config_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = _user_package(tmp_path, monkeypatch, toy_files())
    config_class = importlib.import_module(f"{package}.configuration_toy").ToyConfig
    config_class.register_for_auto_class()
    config_class(width=7).save_pretrained(tmp_path / "cfg")
    assert sorted(p.name for p in (tmp_path / "cfg").iterdir()) == ["config.json", "configuration_toy.py"]
    loaded = AutoConfig.from_pretrained(tmp_path / "cfg" / "config.json", trust_remote_code=True)
    assert loaded.width == 7 and type(loaded).__name__ == "ToyConfig"


def test_class_defined_in_main_is_named_not_copied(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from modelyard import PretrainedConfig

    class ScriptConfig(PretrainedConfig):
        model_type = "script-config"

    ScriptConfig.__module__ = "__main__"
    ScriptConfig.register_for_auto_class()
    with caplog.at_level(logging.WARNING):
        ScriptConfig().save_pretrained(tmp_path / "out")
    assert "ScriptConfig" in caplog.text and "__main__" in caplog.text
    assert "auto_map" not in json.loads((tmp_path / "out" / "config.json").read_text())


def test_tokenizer_and_preprocessor_auto_map_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tokenization = '''
        class ToyTokenizer:
            _auto_class = "AutoTokenizer"


        class ToyTokenizerFast:
            _auto_class = "AutoTokenizer"
            slow_tokenizer_class = ToyTokenizer
            is_fast = True
        '''
    extraction = '''
        class ToyFeatureExtractor:
            _auto_class = "AutoFeatureExtractor"
        '''
    package = _user_package(
        tmp_path, monkeypatch, {"tokenization_toy.py": tokenization, "feature_extraction_toy.py": extraction}
    )
    tokenizers = importlib.import_module(f"{package}.tokenization_toy")
    slow_config: dict[str, object] = {}
    save_custom_code(tokenizers.ToyTokenizer(), tmp_path / "tok", config=slow_config)
    assert slow_config["auto_map"] == {"AutoTokenizer": ["tokenization_toy.ToyTokenizer", None]}
    fast_config: dict[str, object] = {"auto_map": {"AutoTokenizer": ["x.Y", "x.Z"]}}
    save_custom_code(tokenizers.ToyTokenizerFast(), tmp_path / "tok", config=fast_config)
    assert fast_config["auto_map"] == {"AutoTokenizer": ["tokenization_toy.ToyTokenizer", "tokenization_toy.ToyTokenizerFast"]}

    extractor = importlib.import_module(f"{package}.feature_extraction_toy").ToyFeatureExtractor()
    written = save_custom_code(extractor, tmp_path / "fe")
    assert [p.name for p in written] == ["feature_extraction_toy.py"]
    assert extractor.auto_map == {"AutoFeatureExtractor": "feature_extraction_toy.ToyFeatureExtractor"}


def test_saved_remote_model_is_self_contained_and_loads_offline_elsewhere(
    offline: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Weights in one repository, code in another (repo--module.Class): the saved folder holds everything.
    hub_cache_repo("acme/code", COMMIT, toy_files())
    auto_map = {"AutoConfig": "acme/code--configuration_toy.ToyConfig", "AutoModel": "acme/code--modeling_toy.ToyModel"}
    hub_cache_repo("acme/weights", COMMIT, {"config.json": toy_config_json(auto_map=auto_map), "model.safetensors": toy_weights()})
    model = AutoModel.from_pretrained("acme/weights", trust_remote_code=True)
    assert "n_acme.r_code" in type(model).__module__

    model.save_pretrained(tmp_path / "saved")
    elsewhere = tmp_path / "other-machine" / "copy.of-model"
    shutil.copytree(tmp_path / "saved", elsewhere)
    saved_map = json.loads((elsewhere / "config.json").read_text())["auto_map"]
    assert saved_map == {"AutoConfig": "configuration_toy.ToyConfig", "AutoModel": "modeling_toy.ToyModel"}
    assert (elsewhere / "layers" / "blocks.py").is_file() and (elsewhere / "helpers.py").is_file()

    fresh_home = tmp_path / "other-machine" / "home"
    result = run_python(
        f"""
        import torch
        from modelyard import AutoModel
        model = AutoModel.from_pretrained({str(elsewhere)!r}, trust_remote_code=True)
        print(type(model).__module__)
        print(model(torch.ones(1, 4)).tolist())
        """,
        env={
            "MODELYARD_HOME": str(fresh_home),
            "HF_HOME": str(fresh_home / "hf"),
            "HF_HUB_CACHE": str(fresh_home / "hf" / "hub"),
            "HF_HUB_OFFLINE": "1",
        },
    )
    assert result.returncode == 0, result.stderr
    module, output = result.stdout.strip().splitlines()
    assert module.startswith("modelyard_modules.local.l_copy_2e_of_2d_model_")
    assert output == str(model(torch.ones(1, 4)).tolist())
