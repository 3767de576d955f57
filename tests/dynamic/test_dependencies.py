"""Imports of remote code are checked with ast before anything runs; one error lists every missing package."""

from __future__ import annotations

from pathlib import Path

import pytest
from _dynamic_helpers import marker_code, toy_config_json, toy_files, write_files

from modelyard import AutoConfig
from modelyard.dynamic.imports import check_dependencies, is_importable, scan_imports
from modelyard.errors import MissingDependencyError

NEEDS_PACKAGES = '''
import os
import json.decoder
import not_a_real_package_xyz
from another_missing_pkg.sub import thing
from typing import TYPE_CHECKING

try:
    import optional_missing_pkg
except ImportError:
    optional_missing_pkg = None

if TYPE_CHECKING:
    import only_for_type_checkers


def later():
    import missing_inside_a_function
'''


def test_one_error_lists_every_missing_package_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    files = toy_files()
    files["configuration_toy.py"] = marker_code(marker) + NEEDS_PACKAGES + files["configuration_toy.py"]
    folder = write_files(tmp_path / "repo", {**files, "config.json": toy_config_json()})
    with pytest.raises(MissingDependencyError) as info:
        AutoConfig.from_pretrained(folder, trust_remote_code=True)
    message = str(info.value)
    for name in ("not_a_real_package_xyz", "another_missing_pkg", "missing_inside_a_function"):
        assert name in message
    assert "pip install another_missing_pkg missing_inside_a_function not_a_real_package_xyz" in message
    assert "configuration_toy.py" in message and str(folder) in message
    for name in ("optional_missing_pkg", "only_for_type_checkers", "json", "typing"):
        assert name not in message.replace(str(folder), "")
    assert not marker.exists()
    assert isinstance(info.value, ImportError)


def test_scan_sees_relative_and_absolute_imports_separately() -> None:
    found = scan_imports(NEEDS_PACKAGES + "from .sibling import x\nfrom ..up import y\n", "m.py")
    assert [(r.level, r.module) for r in found.relative] == [(1, "sibling"), (2, "up")]
    assert "optional_missing_pkg" in found.optional_absolute
    assert "only_for_type_checkers" not in found.absolute + found.optional_absolute
    assert {"os", "json", "not_a_real_package_xyz", "another_missing_pkg"} <= set(found.absolute)


def test_install_names_and_absolute_imports_of_own_modules() -> None:
    if is_importable("cv2"):
        pytest.skip("opencv is installed here")
    with pytest.raises(MissingDependencyError) as info:
        check_dependencies({"a.py": ["cv2", "helpers"]}, where="repository 'x/y'", local_modules={"helpers", "a"})
    message = str(info.value)
    assert "pip install opencv-python" in message
    assert "'helpers' in a.py" in message and "relative imports" in message


def test_syntax_errors_name_the_file(tmp_path: Path) -> None:
    files = {**toy_files(), "config.json": toy_config_json()}
    files["configuration_toy.py"] += "\ndef broken(:\n"
    with pytest.raises(SyntaxError, match="configuration_toy.py"):
        AutoConfig.from_pretrained(write_files(tmp_path / "repo", files), trust_remote_code=True)
