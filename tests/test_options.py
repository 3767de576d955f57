"""Options as data: every from_pretrained takes exactly the fields of its options objects, and one policy for
keywords nothing takes (issue: one front door for saving and loading)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelyard import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoImageProcessor,
    AutoModel,
    AutoProcessor,
    AutoTokenizer,
    BertConfig,
    BertModel,
    BertTokenizer,
    BertTokenizerFast,
    ViTImageProcessor,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Processor,
)
from modelyard.errors import UnexpectedArgumentError
from modelyard.hub.files import FileSource, HubKwargs
from modelyard.options import IGNORED_FLAGS, REFERENCE_FLAGS, HubOptions
from modelyard.pretrained_io import PretrainedIO
from modelyard.weights import load_options
from modelyard.weights.load_options import LoadOptions

TINY_BERT = dict(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=20,
                 max_position_embeddings=16)
WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("kinds")
    BertModel(BertConfig(**TINY_BERT)).save_pretrained(root / "model")
    (root / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    BertTokenizerFast(vocab_file=str(root / "vocab.txt")).save_pretrained(root / "model")
    ViTImageProcessor().save_pretrained(root / "image")
    (root / "vocab.json").write_text('{"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "a": 5}')
    Wav2Vec2Processor(feature_extractor=Wav2Vec2FeatureExtractor(),
                      tokenizer=Wav2Vec2CTCTokenizer(vocab_file=str(root / "vocab.json"))).save_pretrained(root / "audio")
    return {"model": root / "model", "image": root / "image", "audio": root / "audio"}


# (loader, which saved folder) for every kind and every Auto class
LOADERS: list[tuple[Any, str]] = [
    (BertConfig.from_pretrained, "model"),
    (BertModel.from_pretrained, "model"),
    (BertTokenizer.from_pretrained, "model"),
    (BertTokenizerFast.from_pretrained, "model"),
    (ViTImageProcessor.from_pretrained, "image"),
    (Wav2Vec2FeatureExtractor.from_pretrained, "audio"),
    (Wav2Vec2Processor.from_pretrained, "audio"),
    (AutoConfig.from_pretrained, "model"),
    (AutoModel.from_pretrained, "model"),
    (AutoTokenizer.from_pretrained, "model"),
    (AutoImageProcessor.from_pretrained, "image"),
    (AutoFeatureExtractor.from_pretrained, "audio"),
    (AutoProcessor.from_pretrained, "audio"),
]
IDS = [f"{getattr(f, '__self__', f).__name__}" for f, _ in LOADERS]


def _defaults(options_class: type) -> dict[str, Any]:
    return {f.name: f.default for f in dataclasses.fields(options_class)}


@pytest.mark.parametrize("loader, folder", LOADERS, ids=IDS)
def test_every_hub_option_and_reference_flag_is_accepted(loader, folder: str, saved: dict[str, Path]) -> None:
    """Derived from HubOptions' fields, not listed by hand: each one, at its default, loads the same object."""
    hub = _defaults(HubOptions)
    assert set(hub) == HubOptions.field_names() and hub  # the declaration is the list
    flags = {"_from_auto": True, "_commit_hash": None, "resume_download": None, "mirror": None}
    assert set(flags) <= set(REFERENCE_FLAGS)
    obj = loader(saved[folder], **hub, **flags)
    assert type(obj) is type(loader(saved[folder]))


def test_the_hub_keywords_for_a_type_checker_are_the_hub_options() -> None:
    """HubKwargs (what ``**hub: Unpack[HubKwargs]`` signatures take) names every HubOptions field, with its type."""
    fields = {f.name: f.type for f in dataclasses.fields(HubOptions)}
    written = {name: getattr(hint, "__forward_arg__", hint) for name, hint in HubKwargs.__annotations__.items()}
    assert written == fields  # both written with postponed annotations: the same text
    assert HubKwargs.__required_keys__ == frozenset()  # each has HubOptions' default


def test_the_file_source_openers_take_the_hub_keywords_at_their_defaults(tmp_path: Path) -> None:
    defaults = dataclasses.asdict(HubOptions())
    assert FileSource.open(tmp_path, **defaults).local_dir == tmp_path
    assert FileSource.open(tmp_path, subfolder="sub").subfolder == "sub"
    with pytest.raises(TypeError, match="revison"):
        FileSource.open(tmp_path, revison="main")


def test_one_table_of_ignored_reference_flags() -> None:
    """Every kind drops the reference's private flags; model loading also ignores its model-only ones."""
    assert set(REFERENCE_FLAGS) | set(load_options.IGNORED) == set(IGNORED_FLAGS)
    assert not set(REFERENCE_FLAGS) & set(load_options.IGNORED)
    assert {"_from_auto", "proxies"} <= set(REFERENCE_FLAGS) and {"low_cpu_mem_usage", "code_revision"} <= set(
        load_options.IGNORED
    )
    assert all(flag.why for flag in IGNORED_FLAGS.values())


@pytest.mark.parametrize("loader, folder", LOADERS, ids=IDS)
def test_a_misspelt_keyword_is_the_same_error_for_every_kind(loader, folder: str, saved: dict[str, Path]) -> None:
    with pytest.raises(UnexpectedArgumentError, match="'revison' \\(did you mean 'revision'\\?\\)"):
        loader(saved[folder], revison="main")
    with pytest.raises(UnexpectedArgumentError, match="'local_file_only' \\(did you mean 'local_files_only'\\?\\)"):
        loader(saved[folder], local_file_only=True)


@pytest.mark.parametrize("loader", [BertModel.from_pretrained, AutoModel.from_pretrained], ids=["BertModel", "AutoModel"])
def test_models_accept_exactly_the_load_options(loader, saved: dict[str, Path]) -> None:
    options = _defaults(LoadOptions)
    assert set(options) == LoadOptions.field_names()
    model = loader(saved["model"], **options)
    assert isinstance(model, BertModel)
    assert LoadOptions.field_names() <= BertModel.load_option_names()
    assert HubOptions.field_names() <= BertModel.load_option_names()
    with pytest.raises(UnexpectedArgumentError, match="did you mean 'output_loading_info'"):
        loader(saved["model"], output_loadinginfo=True)
    with pytest.raises(UnexpectedArgumentError, match="'no_such_setting'"):  # a model has nowhere to keep it
        loader(saved["model"], no_such_setting=1)


def test_every_kind_shares_one_io_base() -> None:
    for kind in (BertConfig, BertModel, BertTokenizer, BertTokenizerFast, ViTImageProcessor, Wav2Vec2FeatureExtractor,
                 Wav2Vec2Processor):
        assert issubclass(kind, PretrainedIO)
        for method in ("from_pretrained", "save_pretrained", "push_to_hub", "register_for_auto_class"):
            assert getattr(kind, method).__qualname__.startswith(("PretrainedIO.", "PushToHubMixin.")), (kind, method)


def test_only_a_model_loads_from_no_location() -> None:
    """``from_pretrained(None, config=..., state_dict=...)`` builds a model (as the reference allows); every other
    kind says what it needs, in its own error class."""
    config = BertConfig(**TINY_BERT)
    model = BertModel.from_pretrained(None, config=config, state_dict=BertModel(config).state_dict())
    assert isinstance(model, BertModel)
    for kind in (BertConfig, BertTokenizer, ViTImageProcessor, Wav2Vec2FeatureExtractor):
        with pytest.raises(kind.settings_error, match="needs a folder, a hub repository id or a FileSource, got None"):
            kind.from_pretrained(None)


def test_save_options_are_the_kinds_and_misspelt_ones_fail(tmp_path: Path) -> None:
    model = BertModel(BertConfig(**TINY_BERT))
    files = model.save_pretrained(tmp_path / "m", max_shard_size="2KB", safe_serialization=True)
    assert any(p.name.endswith(".index.json") for p in files)
    with pytest.raises(UnexpectedArgumentError, match="did you mean 'max_shard_size'"):
        model.save_pretrained(tmp_path / "n", max_shard_sise="2KB")
    with pytest.raises(UnexpectedArgumentError, match="did you mean 'portable_code'"):
        BertConfig(**TINY_BERT).save_pretrained(tmp_path / "c", portable_cod=True)


def test_extra_settings_go_where_the_kind_keeps_them(saved: dict[str, Path]) -> None:
    """Far from any known name: a config keeps it (as the reference), a feature extractor returns or warns."""
    config = BertConfig.from_pretrained(saved["model"], return_unused_kwargs=True, my_project_flag=1)
    assert config[1] == {"my_project_flag": 1}
    fe, unused = Wav2Vec2FeatureExtractor.from_pretrained(saved["audio"], return_unused_kwargs=True, my_flag=1)
    assert unused == {"my_flag": 1} and isinstance(fe, Wav2Vec2FeatureExtractor)
    assert np.isfinite(fe(np.zeros(10, dtype=np.float32), sampling_rate=16000)["input_values"][0]).all()
