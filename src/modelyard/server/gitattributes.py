"""Which paths a repository stores through LFS: its ``.gitattributes`` ``filter=lfs`` patterns.

The Hugging Face Hub tells a client to upload a file through LFS when the file's path matches an LFS pattern of
the repository's ``.gitattributes``, whatever its size (a 10-byte ``*.bin`` goes to LFS), and by size otherwise.
New repositories start with the Hub's default attributes file (the lists below, written for this hub).

Matching follows git's rules for attribute patterns: a pattern without a '/' matches the file name at any depth,
one with a '/' is anchored at the root, ``**`` spans folders, and the last line that sets or unsets ``filter``
for a path decides. A pattern naming a folder does not apply to the files inside it (as in git).
"""

from __future__ import annotations

import re

from modelyard.server.paths import glob_to_regex

_LFS = "filter=lfs diff=lfs merge=lfs -text"

_MODEL_PATTERNS = (
    "*.7z", "*.arrow", "*.bin", "*.bz2", "*.ckpt", "*.ftz", "*.gz", "*.h5", "*.joblib", "*.lfs.*", "*.mlmodel",
    "*.model", "*.msgpack", "*.npy", "*.npz", "*.onnx", "*.ot", "*.parquet", "*.pb", "*.pickle", "*.pkl", "*.pt",
    "*.pth", "*.rar", "*.safetensors", "saved_model/**/*", "*.tar.*", "*.tar", "*.tflite", "*.tgz", "*.wasm",
    "*.xz", "*.zip", "*.zst", "*tfevents*",
)
# Datasets also keep their media and a few more archive formats in LFS.
_DATASET_EXTRA = (
    ("*.lz4", "*.mds"),
    ("# Audio files - uncompressed", "*.pcm", "*.sam", "*.raw"),
    ("# Audio files - compressed", "*.aac", "*.flac", "*.mp3", "*.ogg", "*.wav"),
    ("# Image files - uncompressed", "*.bmp", "*.gif", "*.png", "*.tiff"),
    ("# Image files - compressed", "*.jpg", "*.jpeg", "*.webp"),
    ("# Video files - compressed", "*.mp4", "*.webm"),
)


def _lines(patterns: tuple[str, ...]) -> list[str]:
    return [p if p.startswith("#") else f"{p} {_LFS}" for p in patterns]


def default_gitattributes(repo_type: str) -> bytes:
    """The ``.gitattributes`` of a new repository's initial commit."""
    lines = _lines(_MODEL_PATTERNS)
    if repo_type == "dataset":
        for group in _DATASET_EXTRA:
            lines += _lines(group)
    return ("\n".join(lines) + "\n").encode()


def _unquote(pattern: str) -> str:
    """A C-style quoted pattern (``"with space.bin"``), as git writes names with special characters."""
    inner = pattern[1:-1]
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(m.group(1), m.group(1)), inner)


class LfsAttributes:
    """The ``filter`` attribute of a ``.gitattributes`` text, asked per path: is it ``lfs``?"""

    def __init__(self, text: str) -> None:
        # (regex, True when the line sets filter=lfs, False when it sets another filter or unsets it)
        self._rules: list[tuple[re.Pattern[str], bool]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith('"'):
                end = line.find('"', 1)
                while end > 0 and line[end - 1] == "\\":
                    end = line.find('"', end + 1)
                if end < 0:
                    continue
                pattern, attrs = _unquote(line[: end + 1]), line[end + 1 :].split()
            else:
                pattern, *attrs = line.split()
            verdict = None
            for attr in attrs:  # the last mention of ``filter`` on the line counts
                if attr.startswith("filter="):
                    verdict = attr == "filter=lfs"
                elif attr in ("-filter", "!filter"):
                    verdict = False
            if verdict is None or pattern.startswith("!") or pattern.endswith("/"):
                continue  # git refuses negative patterns here; folder patterns never match a file
            anchored = "/" in pattern
            body = glob_to_regex(pattern.lstrip("/"))
            regex = body if anchored else f"(?:.*/)?{body}"
            self._rules.append((re.compile(regex, re.DOTALL), verdict))

    def is_lfs(self, path: str) -> bool:
        result = False
        for regex, verdict in self._rules:
            if regex.fullmatch(path):
                result = verdict
        return result
