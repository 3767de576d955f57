"""Chat templates against the reference: renders byte for byte, ids, assistant masks, errors, and saved files.

The templates are real ones (Llama 3, Llama 3.1 with tools, Qwen2 ChatML, Mistral, Gemma) plus two that
exercise {% generation %}, documents and {% break %} (tools/reference/chat_templates/); the reference's
outputs come from tools/reference/gen_bpe_tokenizers.py with the tiny Qwen2 tokenizer (BOS set to
<|im_start|> so templates that print bos_token show it).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import pytest
from bpe_helpers import fixture_root, load, tokenizer_class

from modelyard.errors import TokenizerError


@lru_cache(maxsize=1)
def chat() -> dict[str, Any]:
    return json.loads((fixture_root() / "chat_templates.json").read_text(encoding="utf-8"))


def qwen2_fast() -> Any:
    tok = load("qwen2", "fast")
    tok.bos_token = chat()["bos_token"]
    return tok


CASES = chat()["cases"]


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{c['template']}-{i}" for i, c in enumerate(CASES)])
def test_chat_template_parity(index: int) -> None:
    case = CASES[index]
    tok = qwen2_fast()
    names = case["conversation"]
    conversations = json.loads(chat()["conversations_json"])  # key order matters to tojson
    conversation = [conversations[n] for n in names] if isinstance(names, list) else conversations[names]
    expected = case["result"]
    kwargs = {k: json.loads(chat()[f"{k}_json"]) if v == f"${k}" else v for k, v in case["kwargs"].items()}
    call = lambda: tok.apply_chat_template(  # noqa: E731
        conversation, chat_template=chat()["templates"][case["template"]], **kwargs
    )
    if isinstance(expected, dict) and "error" in expected:
        error = expected["error"]
        if error["type"] == "TemplateError":  # raised by the template itself: same class, same message
            with pytest.raises(jinja2.exceptions.TemplateError) as caught:
                call()
            assert str(caught.value) == error["message"]
        else:  # the reference's ValueError for a bad combination of options; ours is a TokenizerError (a ValueError)
            with pytest.raises(TokenizerError):
                call()
        return
    result = call()
    if isinstance(expected, dict) and "encoding" in expected:
        assert dict(result.data) == expected["encoding"]
    else:
        assert result == expected


def test_missing_template_error_is_a_value_error() -> None:
    assert chat()["no_template_error"]["error"]["type"] == "ValueError"
    with pytest.raises(ValueError, match="chat_template is not set"):
        qwen2_fast().apply_chat_template([{"role": "user", "content": "x"}], tokenize=False)


@pytest.mark.parametrize("key", sorted(chat()["saving"]))
def test_chat_template_saving_parity(tmp_path: Path, key: str) -> None:
    """Saved as the reference 4.57 saves: .jinja files by default, in tokenizer_config.json without them."""
    case = chat()["saving"][key]
    tok = load("gpt2", "fast")
    tok.chat_template = case["template"]
    tok.save_pretrained(tmp_path, save_jinja_files=key.endswith("-files"))
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == case["files"]
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert config.get("chat_template") == case["config_chat_template"]
    assert {f: (tmp_path / f).read_text(encoding="utf-8") for f in files if f.endswith(".jinja")} == case["jinja"]
    assert type(tok).from_pretrained(tmp_path).chat_template == case["reloaded"]


def test_reference_saved_folder_with_template_loads(tmp_path: Path) -> None:
    """A chat_template.jinja next to a config that also names one: the file wins (reference behaviour)."""
    source = fixture_root() / "gpt2"
    for path in source.iterdir():
        (tmp_path / path.name).write_bytes(path.read_bytes())
    config = json.loads((tmp_path / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["chat_template"] = "from config"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    (tmp_path / "chat_template.jinja").write_text("from file {{ messages | length }}", encoding="utf-8")
    for impl in ("slow", "fast"):
        tok = tokenizer_class("gpt2", impl).from_pretrained(tmp_path)
        assert tok.apply_chat_template([{"role": "user", "content": "x"}], tokenize=False) == "from file 1"
