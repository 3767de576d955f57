"""Corpus repositories in the shape of the most used real remote-code repositories, one module per style.

Each module's ``repo()`` gives its :class:`~corpus.repo.CorpusRepo`; ``STYLES`` lists the modules, one line
each. The code inside every repository is ours (written for these tests, never copied): it follows the real
repositories' import surface from ``transformers``, their config idioms, module naming and generation helpers.
"""

from __future__ import annotations

import importlib

from corpus.repo import CorpusRepo

STYLES = (
    "chatglm",
    "baichuan",
    "internlm2",
    "qwen",
    "deepseek",
    "deepseek_v3",
    "minicpm",
    "mpt",
    "falcon_rw",
    "phi_mixformer",
    "stablelm_epoch",
)


def package_entries() -> list[CorpusRepo]:
    return [importlib.import_module(f"corpus.{style}").repo() for style in STYLES]
