"""The module cache: names valid whatever the repo is called, pinned by commit, fresh after local edits,
nested packages, clearing, and many processes at once."""

from __future__ import annotations

import keyword
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _dynamic_helpers import hub_cache_repo, toy_config_json, toy_files, toy_repo, write_files

from modelyard import AutoConfig, AutoModel, clear_module_cache
from modelyard.dynamic import naming
from modelyard.dynamic_modules import get_class_from_dynamic_module, modules_cache_dir
from modelyard.errors import MissingFileError, TrustRemoteCodeError

A = "a" * 40
B = "b" * 40


def _version(config: object) -> str:
    return sys.modules[type(config).__module__].VERSION


@pytest.mark.parametrize(
    "names",
    [["a-b", "a_b", "a.b", "a__b", "a_2d_b", "a_2d__b", "ab"], ["1abc", "_", "__", "-", "ü", "a b", "class"]],
)
def test_encoding_is_injective_and_gives_identifiers(names: list[str]) -> None:
    encoded = [naming.encode(n) for n in names]
    assert len(set(encoded)) == len(names)
    for name in names:
        package = naming.hub_package(f"{name}/{name}", A)
        assert all(part.isidentifier() and not keyword.iskeyword(part) for part in package.split("."))


@pytest.mark.parametrize("folder", ["2nd.model-v1.0", "my model", "déjà-vu", "class"])
def test_any_folder_name_loads(tmp_path: Path, folder: str) -> None:
    config = AutoConfig.from_pretrained(toy_repo(tmp_path / folder), trust_remote_code=True)
    assert type(config).__name__ == "ToyConfig"


@pytest.mark.parametrize("repo_id", ["acme/3d.net-v2.0", "acme-labs/x_y-z", "Acme/UPPER.case"])
def test_any_repository_name_loads(offline: None, repo_id: str) -> None:
    hub_cache_repo(repo_id, A, {**toy_files(), "config.json": toy_config_json()})
    config = AutoConfig.from_pretrained(repo_id, trust_remote_code=True)
    assert type(config).__module__ == naming.hub_package(repo_id, A) + ".configuration_toy"


def test_local_edits_are_never_stale(tmp_path: Path) -> None:
    folder = toy_repo(tmp_path / "repo", version="1")
    first = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    (folder / "configuration_toy.py").write_text((folder / "configuration_toy.py").read_text().replace('"1"', '"2"'))
    second = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert (_version(first), _version(second)) == ("1", "2")
    assert type(first).__module__ != type(second).__module__
    (folder / "helpers.py").write_text("def scale(x):\n    return 3 * x\n")  # a module it does not import
    third = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert type(third).__module__ != type(second).__module__  # any .py edit gives a new package


def test_a_later_push_never_changes_pinned_code(offline: None, monkeypatch: pytest.MonkeyPatch) -> None:
    hub_cache_repo("acme/toy", A, {**toy_files(version="1"), "config.json": toy_config_json()})
    assert _version(AutoConfig.from_pretrained("acme/toy", trust_remote_code=True)) == "1"
    cached = modules_cache_dir().joinpath(*naming.hub_package("acme/toy", A).split("."), "configuration_toy.py")
    before = cached.read_bytes()

    hub_cache_repo("acme/toy", B, {**toy_files(version="2"), "config.json": toy_config_json()})  # main moves to B
    assert _version(AutoConfig.from_pretrained("acme/toy", trust_remote_code=True)) == "2"
    pinned = AutoConfig.from_pretrained("acme/toy", trust_remote_code=True, revision=A)
    assert _version(pinned) == "1" and cached.read_bytes() == before

    # Pinned code comes from the module cache even when the download cache lost it.
    snapshot = Path(os.environ["HF_HUB_CACHE"]) / "models--acme--toy" / "snapshots" / A
    (snapshot / "configuration_toy.py").unlink()
    for name in [n for n in sys.modules if n.startswith("modelyard_modules")]:
        del sys.modules[name]
    assert _version(AutoConfig.from_pretrained("acme/toy", trust_remote_code=True, revision=A)) == "1"


def test_code_revision_takes_code_from_another_commit(offline: None) -> None:
    hub_cache_repo("acme/toy", A, {**toy_files(version="1"), "config.json": toy_config_json()}, ref=None)
    hub_cache_repo("acme/toy", B, {**toy_files(version="2"), "config.json": toy_config_json(width=9)})
    config = AutoConfig.from_pretrained("acme/toy", trust_remote_code=True, code_revision=A)
    assert config.width == 9 and _version(config) == "1"
    assert f"c_{A}" in type(config).__module__


def test_cross_repository_reference(offline: None) -> None:
    hub_cache_repo("acme/code", A, toy_files(version="shared"))
    auto_map = {"AutoConfig": "acme/code--configuration_toy.ToyConfig"}
    hub_cache_repo("other/weights", B, {"config.json": toy_config_json(auto_map=auto_map)})
    with pytest.raises(TrustRemoteCodeError, match="'acme/code'"):
        AutoConfig.from_pretrained("other/weights")
    config = AutoConfig.from_pretrained("other/weights", trust_remote_code=True)
    assert _version(config) == "shared" and type(config).__module__.startswith(naming.hub_package("acme/code", A))


def test_nested_packages_and_every_relative_import_form(tmp_path: Path) -> None:
    alt = '''
        from . import helpers
        from .layers import blocks
        from .layers.blocks import Block as B2
        from .pkg.sub.deep import DEPTH

        try:
            from .optional_missing import nothing  # noqa: F401
        except ImportError:
            nothing = None


        class Alt:
            depth = DEPTH
            block = blocks.Block
            scale = staticmethod(helpers.scale)
        '''
    files = {
        **toy_files(),
        "modeling_alt.py": alt,
        "pkg/__init__.py": "ROOT = True\n",
        "pkg/sub/__init__.py": "from ..marker import SEEN\n",
        "pkg/marker.py": "SEEN = 'yes'\n",
        "pkg/sub/deep.py": "from ...helpers import scale\nfrom .. import marker\nDEPTH = scale(2)\n",
        "unrelated.py": "raise RuntimeError('never imported')\n",
    }
    folder = write_files(tmp_path / "nested", files)
    alt_class = get_class_from_dynamic_module("modeling_alt.Alt", folder, trust_remote_code=True)
    assert alt_class.depth == 4 and alt_class.scale(5) == 10
    cached = sorted(
        p.relative_to(Path(sys.modules[alt_class.__module__].__file__).parent).as_posix()
        for p in Path(sys.modules[alt_class.__module__].__file__).parent.rglob("*.py")
    )
    assert cached == [
        "helpers.py",
        "layers/__init__.py",
        "layers/blocks.py",
        "modeling_alt.py",
        "pkg/__init__.py",
        "pkg/marker.py",
        "pkg/sub/__init__.py",
        "pkg/sub/deep.py",
    ]


def test_broken_relative_imports_are_named(tmp_path: Path) -> None:
    write_files(tmp_path / "up", {"mod.py": "from ..outside import x\nclass C: pass\n"})
    with pytest.raises(MissingFileError, match=r"goes above the top"):
        get_class_from_dynamic_module("mod.C", tmp_path / "up", trust_remote_code=True)
    write_files(tmp_path / "missing", {"mod.py": "import os\nfrom .gone import x\nclass C: pass\n"})
    with pytest.raises(MissingFileError, match=r"mod.py \(line 2\).*gone.py"):
        get_class_from_dynamic_module("mod.C", tmp_path / "missing", trust_remote_code=True)
    with pytest.raises(MissingFileError, match="defines no class 'Nope'.*C"):
        get_class_from_dynamic_module("mod.Nope", write_files(tmp_path / "ok", {"mod.py": "class C: pass\n"}), trust_remote_code=True)


def test_sys_path_is_never_touched(tmp_path: Path) -> None:
    before = list(sys.path)
    AutoModel.from_pretrained(toy_repo(tmp_path / "repo", weights=True), trust_remote_code=True)
    assert sys.path == before


def test_clear_module_cache(tmp_path: Path) -> None:
    folder = toy_repo(tmp_path / "repo")
    first = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert any(modules_cache_dir().rglob("configuration_toy.py"))
    clear_module_cache()
    assert not any(modules_cache_dir().rglob("*.py"))
    assert type(first).__module__ not in sys.modules
    assert first.width == 4  # objects already built keep working
    again = AutoConfig.from_pretrained(folder, trust_remote_code=True)
    assert type(again) is not type(first) and again.width == 4


def test_eight_processes_load_the_same_code_at_once(offline: None, tmp_path: Path) -> None:
    hub_cache_repo("acme/shared", A, {**toy_files(), "config.json": toy_config_json()})
    go = tmp_path / "go"
    code = textwrap.dedent(
        f"""
        import os, time
        from pathlib import Path
        while not Path({str(go)!r}).exists():
            time.sleep(0.005)
        from modelyard import AutoConfig
        config = AutoConfig.from_pretrained("acme/shared", trust_remote_code=True)
        import sys
        print(type(config).__name__, sys.modules[type(config).__module__].__file__)
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    time.sleep(0.3)  # let them all start and wait at the gate
    go.touch()
    results = [child.communicate(timeout=120) for child in children]
    failures = [err for (_, err), child in zip(results, children) if child.returncode != 0]
    assert not failures, failures[0]
    lines = {out.strip() for out, _ in results}
    assert len(lines) == 1 and lines.pop().startswith("ToyConfig ")
    package_dir = modules_cache_dir().joinpath(*naming.hub_package("acme/shared", A).split("."))
    assert sorted(p.name for p in package_dir.rglob("*.py")) == ["configuration_toy.py"]
    assert not list(package_dir.rglob("*.tmp"))
    expected = Path(os.environ["HF_HUB_CACHE"], "models--acme--shared", "snapshots", A, "configuration_toy.py")
    assert (package_dir / "configuration_toy.py").read_bytes() == expected.read_bytes()


def test_subfolders_of_one_commit_do_not_share_modules(offline: None) -> None:
    files: dict[str, str | bytes] = {}
    for sub, version in (("first", "1"), ("second", "2")):
        files.update({f"{sub}/{path}": code for path, code in toy_files(version=version).items()})
        files[f"{sub}/config.json"] = toy_config_json()
    hub_cache_repo("acme/multi", A, files)
    first = AutoConfig.from_pretrained("acme/multi", subfolder="first", trust_remote_code=True)
    second = AutoConfig.from_pretrained("acme/multi", subfolder="second", trust_remote_code=True)
    assert (_version(first), _version(second)) == ("1", "2")
