"""apply_chat_template behaviour beyond the reference renders: the sandbox, the helpers templates rely on,
named templates, slow tokenizers, tensors and masks."""

from __future__ import annotations

import datetime

import jinja2
import pytest
from bpe_helpers import load
from jinja2.sandbox import SecurityError

from modelyard.errors import TokenizerError

CHATML = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CHAT = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]


@pytest.fixture(params=["slow", "fast"])
def tok(request: pytest.FixtureRequest):
    tokenizer = load("qwen2", request.param)
    tokenizer.chat_template = CHATML
    return tokenizer


def test_renders_and_tokenizes_for_slow_and_fast(tok) -> None:
    text = tok.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
    assert text == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>assistant\n"
    ids = tok.apply_chat_template(CHAT, add_generation_prompt=True)
    assert ids == tok(text, add_special_tokens=False)["input_ids"]
    batch = tok.apply_chat_template([CHAT, CHAT[:1]], return_dict=True, padding=True, return_tensors="pt")
    assert tuple(batch["input_ids"].shape) == (2, len(tok.apply_chat_template(CHAT)))
    assert batch["attention_mask"][1].sum() < batch["attention_mask"][0].sum()


@pytest.mark.parametrize("source", [
    "{{ messages.__class__.__mro__ }}",
    "{{ ''.__class__.__subclasses__() }}",
    "{% set _ = messages.append({'role': 'x'}) %}",
    "{{ messages[0].update({'content': 'changed'}) }}",
])  # fmt: skip
def test_templates_run_in_an_immutable_sandbox(tok, source: str) -> None:
    with pytest.raises(SecurityError):
        tok.apply_chat_template(CHAT, chat_template=source, tokenize=False)
    assert CHAT[0]["content"] == "Hi"


def test_template_helpers(tok) -> None:
    rendered = tok.apply_chat_template(
        CHAT, tokenize=False,
        chat_template="{{ strftime_now('%Y') }}|{{ {'é': '<b>'} | tojson }}|{{ [1] | tojson(indent=2) }}"
                      "|{% for m in messages %}{% if loop.index > 1 %}{% break %}{% endif %}{{ m.role }}{% endfor %}",
    )  # fmt: skip
    year, as_json, indented, loop = rendered.split("|")
    assert year == str(datetime.datetime.now().year)
    assert as_json == '{"é": "<b>"}'  # not HTML-escaped, not ASCII-escaped (unlike Jinja's own tojson)
    assert indented == "[\n  1\n]"
    assert loop == "user"
    with pytest.raises(jinja2.exceptions.TemplateError, match="^nope$"):
        tok.apply_chat_template(CHAT, chat_template="{{ raise_exception('nope') }}", tokenize=False)


def test_special_tokens_and_extra_keywords_reach_the_template(tok) -> None:
    out = tok.apply_chat_template(CHAT, chat_template="{{ eos_token }}/{{ who }}/{{ pad_token }}", tokenize=False,
                                  who="me", pad_token="overridden")  # fmt: skip
    assert out == f"{tok.eos_token}/me/overridden"


def test_named_templates(tok) -> None:
    tok.chat_template = {"default": "D", "tool_use": "T{{ tools | length }}", "rag": "R"}
    assert tok.apply_chat_template(CHAT, tokenize=False) == "D"
    assert tok.apply_chat_template(CHAT, tokenize=False, tools=[{"type": "function"}]) == "T1"
    assert tok.apply_chat_template(CHAT, tokenize=False, chat_template="rag") == "R"
    assert tok.apply_chat_template(CHAT, tokenize=False, chat_template="inline {{ 1 }}") == "inline 1"
    tok.chat_template = {"rag": "R", "tool_use": "T"}
    with pytest.raises(TokenizerError, match=r"\['rag', 'tool_use'\]"):
        tok.apply_chat_template(CHAT, tokenize=False)


def test_bad_option_combinations_and_inputs(tok) -> None:
    with pytest.raises(TokenizerError, match="return_dict=True needs tokenize=True"):
        tok.apply_chat_template(CHAT, tokenize=False, return_dict=True)
    with pytest.raises(TokenizerError, match="needs return_dict=True"):
        tok.apply_chat_template(CHAT, return_assistant_tokens_mask=True)
    with pytest.raises(TokenizerError, match="cannot both be set"):
        tok.apply_chat_template(CHAT, continue_final_message=True, add_generation_prompt=True)
    with pytest.raises(TokenizerError, match="JSON schema"):
        tok.apply_chat_template(CHAT, tools=[len], tokenize=False)
    with pytest.raises(TokenizerError, match="not valid Jinja"):
        tok.apply_chat_template(CHAT, chat_template="{% for %}", tokenize=False)


def test_continue_final_message_cuts_after_the_last_text(tok) -> None:
    text = tok.apply_chat_template(CHAT, tokenize=False, continue_final_message=True)
    assert text.endswith("<|im_start|>assistant\nHello!")
    blocks = [CHAT[0], {"role": "assistant", "content": [{"type": "text", "text": "Part"}]}]
    flat = "{% for m in messages %}{% if m.content is string %}{{ m.content }}{% else %}" \
           "{% for b in m.content %}{{ b.text }}.{% endfor %}{% endif %}{% endfor %}"  # fmt: skip
    assert tok.apply_chat_template(blocks, chat_template=flat, tokenize=False, continue_final_message=True) == "HiPart"


def test_assistant_mask_covers_generation_blocks() -> None:
    tok = load("qwen2", "fast")
    template = ("{% for m in messages %}{{ m.role }}: {% if m.role == 'assistant' %}{% generation %}"
                "{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}")  # fmt: skip
    out = tok.apply_chat_template(CHAT, chat_template=template, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    assert len(mask) == len(ids) and any(mask)
    assert tok.decode([i for i, m in zip(ids, mask) if m]).strip() == "Hello!"


def test_message_encoding_helper(tok) -> None:
    full = tok.apply_chat_template(CHAT)
    first = tok.apply_chat_template(CHAT[:1])
    assert tok.encode_message_with_chat_template(CHAT[1], conversation_history=CHAT[:1]) == full[len(first):]
