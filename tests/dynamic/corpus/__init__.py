"""Corpus repositories in the shape of the most used real remote-code repositories, one module per style.

Each module's ``repo()`` gives its :class:`~corpus.repo.CorpusRepo` (``repos()`` where one module holds several);
``STYLES`` lists the modules, one line each. The code inside every repository is ours (written for these tests,
never copied): it follows the real repositories' import surface from ``transformers``, their config idioms,
module naming and generation helpers.
"""

from __future__ import annotations

import importlib

from corpus.repo import CorpusRepo

STYLES = (
    # decoders
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
    # encoders, a vision tower and tokenizers
    "nomic_bert",
    "gte_new",
    "jina_bert",
    "mosaic_bert",
    "siglip_navit",
    "sentencepiece_tokenizers",
)


def package_entries() -> list[CorpusRepo]:
    entries: list[CorpusRepo] = []
    for style in STYLES:
        module = importlib.import_module(f"corpus.{style}")
        entries.extend(module.repos() if hasattr(module, "repos") else [module.repo()])
    return entries
