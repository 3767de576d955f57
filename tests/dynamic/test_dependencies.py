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


# The reference's rule: what it loads, modelyard loads (a quantizer module importing bitsandbytes under a
# try whatever it catches; either branch of an availability test); what it refuses is refused with the line.
@pytest.mark.parametrize(
    "source",
    [
        "try:\n    import bitsandbytes as bnb\nexcept ImportError:\n    bnb = None\n",
        "try:\n    import bitsandbytes as bnb\nexcept (RuntimeError, AttributeError):\n    bnb = None\n",
        "def load():\n    try:\n        from bitsandbytes.nn import Linear8bitLt\n    finally:\n        pass\n",
        "from transformers.utils import is_bitsandbytes_available\n"
        "if is_bitsandbytes_available():\n    import bitsandbytes as bnb\n",
        "from transformers.utils import is_bitsandbytes_available\n"
        "if not is_bitsandbytes_available():\n    bnb = None\nelse:\n    import bitsandbytes as bnb\n",
        "import importlib.util\nif importlib.util.find_spec('bitsandbytes') is not None:\n    import bitsandbytes\n",
    ],
    ids=["except-importerror", "except-other", "try-finally", "if-available", "else-of-not-available", "find-spec"],
)
def test_guarded_imports_are_optional(source: str) -> None:
    found = scan_imports(source, "quantizer.py")
    assert "bitsandbytes" not in found.absolute
    assert "bitsandbytes" in found.optional_absolute


def test_an_unconditional_import_is_named_with_file_line_and_install_hint() -> None:
    source = "import os\n\n\nimport yaml\nfrom not_a_real_package_xyz import thing\nimport not_a_real_package_xyz.sub\n"
    found = scan_imports(source, "quantizer.py")
    assert dict(found.first_lines) == {"os": 1, "yaml": 4, "not_a_real_package_xyz": 5}
    required = {"quantizer.py": {k: v for k, v in found.first_lines.items() if k != "yaml"}}
    with pytest.raises(MissingDependencyError) as info:
        check_dependencies(required, where="repository 'acme/q'")
    message = str(info.value)
    assert "not_a_real_package_xyz (imported by quantizer.py line 5)" in message
    assert "pip install not_a_real_package_xyz" in message and "acme/q" in message
