"""Where the reference's test files come from, assembled at run time into a work tree (never committed).

Two sources, both of the release ``.venv-ref`` holds (``REFERENCE_VERSION``):

- **the PyPI source distribution** ``transformers-<version>.tar.gz``: its ``tests/test_*.py`` (the shared
  ``*_common.py`` mixins, exactly as released) and the two helper files the fairness rule lets the modelyard
  run take from the reference (``src/transformers/testing_utils.py``, ``src/transformers/utils/import_utils.py``).
  Fetched with ``pip download --no-deps --no-binary :all:`` into the cache, or given with
  ``MODELYARD_REFERENCE_SDIST=/path/to/transformers-<version>.tar.gz``.
- **the repository's test tree** for what the sdist lacks (the per-model tests, ``tests/utils``, ``tests/trainer``,
  ``tests/generation/test_utils.py``, ``tests/fixtures``, ``utils/test_module``): either
  ``MODELYARD_REFERENCE_TESTS=/path/to/checkout`` (a checkout of the release: the folder holding ``tests/``), or
  ``MODELYARD_REFERENCE_GIT=/path/to/git-dir`` with ``MODELYARD_REFERENCE_REV`` (default ``v<version>``), read
  with ``git archive``.

Files of the sdist win over the repository's, so the mixins are the release's even when the repository
revision is a near one.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

REFERENCE_VERSION = "4.57.6"

# What the suite needs from the repository (paths relative to its root; folders end with "/").
REPOSITORY_PATHS = (
    "tests/__init__.py",
    "tests/generation/__init__.py",
    "tests/generation/test_utils.py",
    "tests/models/__init__.py",
    "tests/models/auto/",
    "tests/models/bert/",
    "tests/models/distilbert/",
    "tests/models/vit/",
    "tests/models/wav2vec2/",
    "tests/models/resnet/",
    "tests/utils/__init__.py",
    "tests/utils/test_configuration_utils.py",
    "tests/utils/test_modeling_utils.py",
    "tests/trainer/__init__.py",
    "tests/trainer/test_trainer.py",
    "tests/fixtures/",
    "tests/pipelines/",  # the pipeline mixin imports every pipeline test module
    "tests/utils/tiny_model_summary.json",
    "utils/test_module/",
    "utils/fetch_hub_objects_for_ci.py",  # the processing mixin imports its url_to_local_path
)
# From the sdist: the shared mixins and the two helper sources (testing_utils, the import probes).
SDIST_HELPERS = ("src/transformers/testing_utils.py", "src/transformers/utils/import_utils.py")

HOW_TO_PROVIDE = f"""\
The reference's test files are not committed; provide the repository's test tree of transformers {REFERENCE_VERSION}:
  MODELYARD_REFERENCE_TESTS=/path/to/transformers-checkout   (the folder that holds tests/ and utils/), or
  MODELYARD_REFERENCE_GIT=/path/to/transformers.git [MODELYARD_REFERENCE_REV=v{REFERENCE_VERSION}]
  (e.g. `git clone --bare https://github.com/huggingface/transformers`), then run `make reference-suite` again.
The shared tests/test_*_common.py mixins come from the PyPI sdist (fetched with pip, or
MODELYARD_REFERENCE_SDIST=/path/to/transformers-{REFERENCE_VERSION}.tar.gz)."""


class SourcesMissing(RuntimeError):
    """The test files cannot be assembled; the message says how to provide them."""


@dataclass(frozen=True)
class Tree:
    """The assembled work tree: ``root/tests/...``, ``root/utils/test_module``, ``root/reference_helpers``."""

    root: Path
    origin: str

    @property
    def tests(self) -> Path:
        return self.root / "tests"

    @property
    def helpers(self) -> Path:
        return self.root / "reference_helpers"


def _sdist(cache: Path) -> Path:
    given = os.environ.get("MODELYARD_REFERENCE_SDIST")
    if given:
        path = Path(given)
        if not path.is_file():
            raise SourcesMissing(f"MODELYARD_REFERENCE_SDIST={given} is not a file.\n{HOW_TO_PROVIDE}")
        return path
    path = cache / f"transformers-{REFERENCE_VERSION}.tar.gz"
    if path.is_file():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
               f"transformers=={REFERENCE_VERSION}", "-d", str(cache)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not path.is_file():
        raise SourcesMissing(f"Could not download the transformers {REFERENCE_VERSION} sdist from PyPI:\n"
                             f"{done.stderr.strip()}\n{HOW_TO_PROVIDE}")
    return path


def _wanted(relative: str) -> bool:
    return any(relative == p or (p.endswith("/") and relative.startswith(p)) for p in REPOSITORY_PATHS)


def _copy_checkout(checkout: Path, into: Path) -> None:
    if not (checkout / "tests" / "test_modeling_common.py").is_file() and not (checkout / "tests" / "models").is_dir():
        raise SourcesMissing(f"MODELYARD_REFERENCE_TESTS={checkout} holds no tests/models folder.\n{HOW_TO_PROVIDE}")
    for path in REPOSITORY_PATHS:
        source = checkout / path
        if source.is_dir():
            shutil.copytree(source, into / path, dirs_exist_ok=True)
        elif source.is_file():
            (into / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / path)


def _extract_git(git_dir: Path, revision: str, into: Path) -> None:
    paths = [p.rstrip("/") for p in REPOSITORY_PATHS]
    done = subprocess.run(["git", "--git-dir", str(git_dir), "archive", "--format=tar", revision, "--", *paths],
                          capture_output=True, check=False)
    if done.returncode != 0:
        raise SourcesMissing(f"git archive {revision} in {git_dir} failed: {done.stderr.decode().strip()}\n"
                             f"{HOW_TO_PROVIDE}")
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")


def _overlay_sdist(sdist: Path, into: Path) -> None:
    prefix = f"transformers-{REFERENCE_VERSION}/"
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            name = member.name[len(prefix):] if member.name.startswith(prefix) else None
            if not name or not member.isfile():
                continue
            if name.startswith("tests/") and name.count("/") == 1 and name.endswith(".py"):
                target = into / name
            elif name in SDIST_HELPERS:
                target = into / "reference_helpers" / Path(name).relative_to("src/transformers")
            else:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            extracted = archive.extractfile(member)
            assert extracted is not None  # a regular file member always has content
            target.write_bytes(extracted.read())


def assemble(cache: Path) -> Tree:
    """Build (or reuse) the work tree under ``cache``; raises :class:`SourcesMissing` with the how-to."""
    checkout = os.environ.get("MODELYARD_REFERENCE_TESTS")
    git_dir = os.environ.get("MODELYARD_REFERENCE_GIT")
    revision = os.environ.get("MODELYARD_REFERENCE_REV", f"v{REFERENCE_VERSION}")
    if checkout:
        origin = f"checkout {checkout}"
    elif git_dir:
        origin = f"git {git_dir} at {revision}"
    else:
        raise SourcesMissing(HOW_TO_PROVIDE)
    sdist = _sdist(cache / "sdist")
    key = hashlib.sha256(f"{origin}|{sdist}|{REFERENCE_VERSION}".encode()).hexdigest()[:12]
    root = cache / f"tree-{key}"
    if (root / ".complete").is_file():
        return Tree(root, origin)
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    if checkout:
        _copy_checkout(Path(checkout), root)
    else:
        _extract_git(Path(git_dir or ""), revision, root)
    _overlay_sdist(sdist, root)
    # its own ini file, so no project's pytest settings (strict markers, addopts) apply to the reference's tests
    (root / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
    (root / ".complete").write_text(origin + "\n")
    return Tree(root, origin)
