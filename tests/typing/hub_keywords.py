"""The hub keywords (``revision``, ``cache_dir``, ``token``, ``local_files_only``, ``subfolder``,
``force_download``) are declared once, :class:`modelyard.hub.files.HubKwargs`, and a signature that takes only them
takes ``**hub: Unpack[HubKwargs]``: a misspelt or mistyped one is a type error there. Checked by mypy in
``make lint`` and by ``tests/test_typing.py``; never run.

Each rejected call carries ``# type: ignore[<the error>]``: mypy's ``warn_unused_ignores`` (pyproject.toml) turns an
ignore that silences nothing, that is a call mypy accepts, into an error, so every such line is a claim that mypy
rejects the call with that error.

The Auto classes and ``from_pretrained`` also take every keyword of the class they load (config attributes,
tokenizer settings), so their keywords stay open to a type checker (mypy has no open TypedDicts, PEP 728) and a
misspelt hub keyword there is refused at run time with the name it misspells (``tests/test_options.py``); what a
type checker does hold there is the type of the keywords they declare.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typing_extensions import assert_type

from modelyard import AutoModel, AutoTokenizer
from modelyard.dynamic_modules import get_class_from_dynamic_module
from modelyard.hub.files import FileSource, HubKwargs
from modelyard.options import HubOptions


def every_hub_keyword_is_taken(path: str) -> None:
    source = FileSource.open(
        path, revision="main", cache_dir=Path("cache"), token=False, local_files_only=True, subfolder="sub",
        force_download=False,
    )
    assert_type(source, FileSource)
    assert_type(FileSource.open_repo("owner/name", revision="v1", token="hf_x"), FileSource)
    assert_type(get_class_from_dynamic_module("modeling.Custom", path, revision="main", cache_dir="cache"), type[Any])
    options: HubKwargs = {"revision": "main", "local_files_only": True}
    assert_type(FileSource.open(path, **options), FileSource)
    assert_type(HubOptions(**options).open(path), FileSource)


def a_misspelt_hub_keyword_is_rejected(path: str) -> None:
    FileSource.open(path, revison="main")  # type: ignore[call-arg]
    FileSource.open_repo("owner/name", local_file_only=True)  # type: ignore[call-arg]
    get_class_from_dynamic_module("modeling.Custom", path, cach_dir="cache")  # type: ignore[call-arg]
    misspelt: HubKwargs = {"revison": "main"}  # type: ignore[typeddict-unknown-key]
    FileSource.open(path, **misspelt)


def a_mistyped_hub_keyword_is_rejected(path: str) -> None:
    FileSource.open(path, revision=1)  # type: ignore[arg-type]
    FileSource.open(path, local_files_only="yes")  # type: ignore[arg-type]
    get_class_from_dynamic_module("modeling.Custom", path, token=3)  # type: ignore[arg-type]


def the_auto_classes_type_their_own_keywords(path: str) -> None:
    AutoModel.from_pretrained(path, trust_remote_code="yes")  # type: ignore[call-overload]
    AutoTokenizer.from_pretrained(path, code_revision=7)  # type: ignore[call-overload]
    AutoModel.from_pretrained(Path(path).read_bytes())  # type: ignore[call-overload]
