"""The compatibility namespace's ``transformers.utils`` helpers remote code calls: file lookups in its own
repository, ``ContextManagers``, and ``is_*_available`` probes that answer for this environment."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from modelyard.compat.transformers import utils
from modelyard.compat.transformers.utils import hub
from modelyard.errors import UnsafeFileError


def _shard_folder(tmp_path: Path) -> Path:
    from safetensors.torch import save_file

    folder = tmp_path / "ckpt"
    folder.mkdir()
    save_file({"a": torch.zeros(2)}, str(folder / "model-00001-of-00002.safetensors"))
    save_file({"b": torch.ones(2)}, str(folder / "model-00002-of-00002.safetensors"))
    index = {"metadata": {"total_size": 16},
             "weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder


def test_cached_file_and_has_file_on_a_folder(tmp_path: Path) -> None:
    folder = _shard_folder(tmp_path)
    found = utils.cached_file(str(folder), "model.safetensors.index.json")
    assert found == str(folder / "model.safetensors.index.json")
    assert utils.cached_file(folder, "absent.json", _raise_exceptions_for_missing_entries=False) is None
    with pytest.raises(OSError, match="absent.json"):
        utils.cached_file(folder, "absent.json")
    assert utils.has_file(folder, "model-00002-of-00002.safetensors") and not utils.has_file(folder, "x.bin")
    with pytest.raises(UnsafeFileError, match="only names inside the folder"):
        utils.cached_file(folder, "../outside.safetensors")


def test_checkpoint_shard_files_are_listed_with_the_reference_metadata(tmp_path: Path) -> None:
    folder = _shard_folder(tmp_path)
    files, metadata = hub.get_checkpoint_shard_files(str(folder), str(folder / "model.safetensors.index.json"))
    assert [Path(f).name for f in files] == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert metadata["all_checkpoint_keys"] == ["a", "b"] and metadata["total_size"] == 16
    assert metadata["weight_map"]["b"] == "model-00002-of-00002.safetensors"
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    index["weight_map"]["b"] = "../../outside.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(UnsafeFileError, match="outside.safetensors"):
        hub.get_checkpoint_shard_files(str(folder), str(folder / "model.safetensors.index.json"))


def test_commit_hash_is_read_from_a_snapshot_path() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    assert hub.extract_commit_hash(f"/c/models--a--b/snapshots/{commit}/config.json", None) == commit
    assert hub.extract_commit_hash("/elsewhere/config.json", None) is None
    assert hub.extract_commit_hash("/x", "given") == "given"
    assert utils.is_remote_url("https://x.example/f") and not utils.is_remote_url("/local/f")


def test_context_managers_enter_all_and_leave_in_reverse() -> None:
    events: list[str] = []

    class Recorder:
        def __init__(self, name: str) -> None:
            self.name = name

        def __enter__(self) -> None:
            events.append(f"enter {self.name}")

        def __exit__(self, *exc: object) -> None:
            events.append(f"exit {self.name}")

    with utils.ContextManagers([Recorder("a"), Recorder("b")]):
        events.append("body")
    assert events == ["enter a", "enter b", "body", "exit b", "exit a"]


@pytest.mark.parametrize(
    ("probe", "package"),
    [("is_bitsandbytes_available", "bitsandbytes"), ("is_peft_available", "peft"), ("is_triton_available", "triton"),
     ("is_torch_fx_available", "torch"), ("is_accelerate_available", "accelerate"),
     ("is_sentencepiece_available", "sentencepiece"), ("is_timm_available", "timm")],
)
def test_availability_probes_answer_for_this_environment(probe: str, package: str) -> None:
    installed = importlib.util.find_spec(package) is not None
    answer = getattr(utils, probe)()
    if probe == "is_bitsandbytes_available":
        assert answer == (installed and torch.cuda.is_available())
    else:
        assert answer == installed
    assert utils.is_torch_flex_attn_available() == (tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5))


def test_accelerate_probe_takes_the_references_minimum_version() -> None:
    from importlib.metadata import version

    installed = importlib.util.find_spec("accelerate") is not None
    assert utils.is_accelerate_available() == installed
    if installed:
        assert utils.is_accelerate_available("0.1") and not utils.is_accelerate_available("999.0")
        assert utils.is_accelerate_available(version("accelerate"))


def test_strtobool_reads_yes_and_no_words_as_distutils_did() -> None:
    assert [utils.strtobool(v) for v in ("yes", "TRUE", "on", "1", "no", "False", "off", "0")] == [1] * 4 + [0] * 4
    with pytest.raises(ValueError, match="'maybe'"):
        utils.strtobool("maybe")


def test_direct_transformers_import_gives_the_namespace_whatever_the_path() -> None:
    import modelyard.compat.transformers as namespace

    assert utils.direct_transformers_import("/any/checkout/src/transformers") is namespace


def test_backbone_utils_offers_the_backbone_kinds() -> None:
    from modelyard.compat.transformers.utils.backbone_utils import BackboneType

    assert BackboneType("timm") is BackboneType.TIMM and BackboneType.TRANSFORMERS.value == "transformers"


def test_handlers_on_the_references_loggers_receive_modelyards_records() -> None:
    import logging

    from modelyard.compat.transformers.utils import logging as compat_logging

    assert compat_logging._reference_logger_name("modelyard.models.bert.modeling_bert") == \
        "transformers.models.bert.modeling_bert"
    assert compat_logging._reference_logger_name("modelyard.modeling.loading") == "transformers.modeling_utils"
    assert compat_logging._reference_logger_name("modelyard.hub.files") == "transformers"

    class Keep(logging.Handler):
        def __init__(self) -> None:
            super().__init__()
            self.messages: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.messages.append(record.getMessage())

    module_handler, top_handler = Keep(), Keep()
    module_logger, top_logger = logging.getLogger("transformers.modeling_utils"), logging.getLogger("transformers")
    module_logger.addHandler(module_handler)
    top_logger.addHandler(top_handler)
    try:
        logging.getLogger("modelyard.modeling.loading").warning("weights %s were not used", "x")
        logging.getLogger("modelyard.configuration").info("below the level: not forwarded")
    finally:
        module_logger.removeHandler(module_handler)
        top_logger.removeHandler(top_handler)
    assert module_handler.messages == ["weights x were not used"]
    assert top_handler.messages == ["weights x were not used"]  # propagation up to "transformers", once


def test_a_compat_logger_takes_handlers_like_a_logging_logger() -> None:
    import logging

    from modelyard.compat.transformers.utils import logging as compat_logging

    logger = compat_logging.get_logger("modelyard_modules.handler_test")
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger.addHandler(handler)
    assert handler in logger.handlers and handler in logging.getLogger("modelyard_modules.handler_test").handlers
    logger.warning("kept %d", 1)
    logger.removeHandler(handler)
    logger.warning("not kept")
    assert seen == ["kept 1"]


def test_the_unnamed_logger_is_the_reference_root_and_hears_the_trainer() -> None:
    import logging

    from modelyard.compat.transformers.utils import logging as compat_logging

    root = compat_logging.get_logger()
    assert root.logger is logging.getLogger("transformers")
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    root.addHandler(handler)
    try:
        logging.getLogger("modelyard.training.trainer").warning("resumed with %d steps", 3)
    finally:
        root.removeHandler(handler)
    assert seen == ["resumed with 3 steps"]


def test_check_torch_load_is_safe_follows_the_installed_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.compat.transformers.utils import import_utils

    assert utils.check_torch_load_is_safe is import_utils.check_torch_load_is_safe
    assert import_utils.check_torch_load_is_safe() is None  # torch >= 2.6 here
    monkeypatch.setattr(torch, "__version__", "2.5.1")
    with pytest.raises(ValueError, match="CVE-2025-32434"):
        import_utils.check_torch_load_is_safe()
