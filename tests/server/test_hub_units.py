"""Unit tests of the server's building blocks: git ids, name checks, gitignore, sizes, dates, no torch."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.server.config import HubSettings, parse_size
from modelyard.server.errors import HubHTTPError
from modelyard.server.gitobjects import FileEntry, git_blob_oid, iso_z, lfs_pointer, tree_oids
from modelyard.server.paths import GitIgnore, check_path_in_repo, check_ref_name


def _entry(content: bytes) -> FileEntry:
    return FileEntry(hashlib.sha256(content).hexdigest(), len(content), git_blob_oid(content), False)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_ids_match_git(tmp_path: Path) -> None:
    files = {"a/b/f.txt": b"x\n", "a/g": b"y\n", "c.txt": b"z\n", "c/d": b"w\n", "ab": b"v\n", "a-b/h": b""}
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(content)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    expected = subprocess.run([*git, "write-tree"], check=True, capture_output=True, text=True).stdout.strip()
    oids = tree_oids({p: _entry(c) for p, c in files.items()})
    assert oids[""] == expected
    sub = subprocess.run([*git, "rev-parse", f"{expected}:a"], check=True, capture_output=True, text=True)
    assert oids["a"] == sub.stdout.strip()


def test_blob_and_pointer_ids() -> None:
    assert git_blob_oid(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    pointer = lfs_pointer("a" * 64, 5)
    assert pointer == b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"a" * 64 + b"\nsize 5\n"
    assert len(lfs_pointer("a" * 64, 11534336)) == 133  # the pointerSize HF reports for that size


@pytest.mark.parametrize("path", ["config.json", "a/b/c.txt", "dir.with.dots/x", "name with space.txt", "ünï.txt"])
def test_good_paths(path: str) -> None:
    assert check_path_in_repo(path) == path


@pytest.mark.parametrize("name", ["main", "dev", "feature/x", "v1.0", "release-2024_01"])
def test_good_ref_names(name: str) -> None:
    assert check_ref_name(name) == name


@pytest.mark.parametrize("name", ["", "a..b", "a b", "x~1", "refs/heads/x", "/a", "a/", "a.lock", ".hidden",
                                  "a//b", "0123456789abcdef0123456789abcdef01234567", "a:b", "a\\b"])
def test_bad_ref_names(name: str) -> None:
    with pytest.raises(HubHTTPError) as err:
        check_ref_name(name)
    assert err.value.status == 400 and repr(name) in err.value.message


def test_gitignore_rules() -> None:
    ignore = GitIgnore("# comment\n*.log\n!keep.log\nbuild/\n/root-only.txt\n**/cache/**\ndocs/*.tmp\n")
    assert ignore.ignored("a.log") and ignore.ignored("deep/b.log")
    assert not ignore.ignored("keep.log")
    assert ignore.ignored("build/x.bin") and ignore.ignored("src/build/y") and not ignore.ignored("build")
    assert ignore.ignored("root-only.txt") and not ignore.ignored("sub/root-only.txt")
    assert ignore.ignored("x/cache/y/z")
    assert ignore.ignored("docs/a.tmp") and not ignore.ignored("docs/sub/a.tmp")
    assert not ignore.ignored("model.safetensors")


def test_sizes_and_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert parse_size("10MB") == 10 * 1024 * 1024 and parse_size("1 GiB") == 1024 ** 3 and parse_size("512") == 512
    with pytest.raises(ValueError, match="cannot read"):
        parse_size("ten")
    monkeypatch.setenv("MODELYARD_HUB_REGULAR_MAX_SIZE", "1MB")
    monkeypatch.setenv("MODELYARD_HUB_PORT", "9999")
    settings = HubSettings.from_env(data_dir=tmp_path)
    assert settings.regular_max_size == 1024 * 1024 and settings.port == 9999 and settings.data_dir == tmp_path
    with pytest.raises(ValueError, match="positive"):
        HubSettings(regular_max_size=0)


def test_dates_end_in_z() -> None:
    assert iso_z(0) == "1970-01-01T00:00:00.000Z"
    assert iso_z(1.5) == "1970-01-01T00:00:01.500Z"


def test_server_and_cli_do_not_import_torch() -> None:
    code = ("import sys, modelyard.server.app, modelyard.cli.main, modelyard.server.serve; "
            "from modelyard.server.app import create_app; "
            "assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt tuning is glibc-only")
def test_allocator_tuning_takes_on_glibc() -> None:
    from modelyard.server.serve import tune_allocator

    assert tune_allocator() is True
