"""``pipeline("text-generation")``: prompts and chats continued with ``generate()``, in the reference's shapes.

The checkpoints are tiny random GPT-2 and Llama models saved next to the byte-level BPE / sentencepiece
tokenizers of tests/fixtures/parity/bpe_tokenizers (a ChatML chat template added). The ``reference`` test runs
the reference's pipeline on the very same folders (in its own environment, _text_generation_reference.py) and
requires token-identical greedy outputs; the others check the behaviour without the reference.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from common.parity import parity_dir

import modelyard
from modelyard import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM
from modelyard.errors import PipelineError
from modelyard.generation import GenerationConfig, TextIteratorStreamer
from modelyard.pipelines.text_generation import TextGenerationPipeline

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_PYTHON = Path(os.environ.get("REFERENCE_PYTHON", REPO_ROOT / ".venv-ref" / "bin" / "python"))
REFERENCE_SCRIPT = Path(__file__).with_name("_text_generation_reference.py")

CHATML = (
    "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] }}"
    "{%- if not (loop.last and continue_final_message is defined and continue_final_message) %}"
    "{{- '<|im_end|>\\n' }}{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
GREEDY = {"do_sample": False, "max_new_tokens": 6}
USER = [{"role": "user", "content": "Hello there, how are you?"}]


def _tokenizer_folder(family: str, folder: Path, *, chat_template: str | None = None) -> Path:
    shutil.copytree(parity_dir() / "bpe_tokenizers" / family, folder)
    if chat_template is not None:
        config_path = folder / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["chat_template"] = chat_template
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return folder


def _gpt2_folder(folder: Path, *, chat_template: str | None = CHATML) -> Path:
    _tokenizer_folder("gpt2", folder, chat_template=chat_template)
    torch.manual_seed(0)
    # A wide initializer spreads the logits, so greedy choices are far from ties in either library.
    config = GPT2Config(vocab_size=700, n_embd=32, n_layer=2, n_head=2, n_positions=128, bos_token_id=0,
                        eos_token_id=0, initializer_range=0.3)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def _llama_folder(folder: Path) -> Path:
    _tokenizer_folder("llama", folder)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=800, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                         bos_token_id=1, eos_token_id=2, initializer_range=0.3)
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _gpt2_folder(tmp_path_factory.mktemp("textgen") / "gpt2")


@pytest.fixture(scope="module")
def gpt2_pipe(gpt2_dir: Path) -> TextGenerationPipeline:
    return modelyard.pipeline("text-generation", model=str(gpt2_dir))


# -- against the reference ------------------------------------------------------------------------------------
GPT2_CALLS: list[dict[str, Any]] = [
    {"inputs": "Hello world", "options": {**GREEDY, "max_new_tokens": 8}},
    {"inputs": "Hello", "options": {**GREEDY, "num_beams": 2, "num_return_sequences": 2}},
    {"inputs": "The quick brown fox", "options": {**GREEDY, "return_full_text": False}},
    {"inputs": "Hello", "options": {**GREEDY, "return_tensors": True}},
    {"inputs": USER, "options": GREEDY},
    {"inputs": [*USER, {"role": "assistant", "content": "I am"}], "options": GREEDY},
    {"inputs": [USER, [{"role": "user", "content": "Tell me a story"}]], "options": GREEDY},
    {"inputs": USER, "options": {**GREEDY, "return_full_text": False}},
    {"inputs": "a nice day", "options": {**GREEDY, "prefix": "Once upon a time, "}},
    {"inputs": ["Hello world", "A much longer prompt than the others here", "x"],
     "options": {**GREEDY, "batch_size": 2}, "left_pad": True},
]
LLAMA_CALLS: list[dict[str, Any]] = [
    {"inputs": "Hello world", "options": {**GREEDY, "max_new_tokens": 8}},
    {"inputs": "Hello", "options": {**GREEDY, "num_beams": 3, "num_return_sequences": 2}},
    {"inputs": "The quick brown fox", "options": {**GREEDY, "return_full_text": False}},
    {"inputs": "Hello", "options": {**GREEDY, "return_tensors": True}},
    {"inputs": ["Hello world", "A much longer prompt than the others here", "x"],
     "options": {**GREEDY, "batch_size": 2}, "left_pad": True},
]


def _reference(folder: Path, calls: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    calls_path = tmp_path / f"{folder.name}-calls.json"
    calls_path.write_text(json.dumps(calls), encoding="utf-8")
    result = subprocess.run([str(REFERENCE_PYTHON), str(REFERENCE_SCRIPT), str(folder), str(calls_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.reference
@pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason="needs the reference environment (make reference)")
@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_greedy_outputs_equal_the_reference_pipeline(family: str, tmp_path: Path) -> None:
    """Same folder, same calls: the reference's pipeline and modelyard's give the same texts, token ids,
    conversations and shapes (one list per prompt, one dict per returned sequence)."""
    folder = _gpt2_folder(tmp_path / family) if family == "gpt2" else _llama_folder(tmp_path / family)
    calls = GPT2_CALLS if family == "gpt2" else LLAMA_CALLS
    reference = _reference(folder, calls, tmp_path)
    assert reference["task"] == "text-generation"
    pipe = modelyard.pipeline(model=str(folder))  # the task is inferred from the config, as the reference does
    assert isinstance(pipe, TextGenerationPipeline)
    for call, expected in zip(calls, reference["results"], strict=True):
        assert "output" in expected, f"the reference refused {call}: {expected}"
        got = pipe(call["inputs"], **call["options"])
        assert got == expected["output"], f"{family} {call}"


# -- behaviour --------------------------------------------------------------------------------------------------
def test_output_shapes_for_prompts_lists_and_sequences(gpt2_pipe: TextGenerationPipeline) -> None:
    one = gpt2_pipe("Hello", **GREEDY)
    assert isinstance(one, list) and len(one) == 1 and set(one[0]) == {"generated_text"}
    assert one[0]["generated_text"].startswith("Hello")
    many = gpt2_pipe(["Hello", "Good morning"], **GREEDY)
    assert [len(result) for result in many] == [1, 1]
    assert many[1][0]["generated_text"].startswith("Good morning")
    several = gpt2_pipe("Hello", do_sample=True, max_new_tokens=4, num_return_sequences=3)
    assert len(several) == 3 and all(row["generated_text"].startswith("Hello") for row in several)
    ids = gpt2_pipe("Hello", **GREEDY, return_tensors=True)
    prompt_ids = gpt2_pipe.tokenizer("Hello")["input_ids"]
    assert set(ids[0]) == {"generated_token_ids"}
    assert ids[0]["generated_token_ids"][:len(prompt_ids)] == prompt_ids
    assert len(ids[0]["generated_token_ids"]) == len(prompt_ids) + GREEDY["max_new_tokens"]


def test_new_text_is_the_full_text_without_the_prompt(gpt2_pipe: TextGenerationPipeline) -> None:
    full = gpt2_pipe("The quick brown fox", **GREEDY)[0]["generated_text"]
    new = gpt2_pipe("The quick brown fox", **GREEDY, return_full_text=False)[0]["generated_text"]
    assert full == "The quick brown fox" + new
    assert gpt2_pipe("The quick brown fox", **GREEDY, return_text=True)[0]["generated_text"] == full


def test_batches_are_left_padded_and_equal_one_prompt_at_a_time(gpt2_pipe: TextGenerationPipeline) -> None:
    prompts = ["Hi", "A much longer prompt than the others here", "x y", "Good morning to you all"]
    alone = [gpt2_pipe(prompt, **GREEDY) for prompt in prompts]
    assert gpt2_pipe.tokenizer.pad_token_id is None  # the end-of-sequence token pads the batch
    assert gpt2_pipe(prompts, **GREEDY, batch_size=2) == alone
    assert list(gpt2_pipe(iter(prompts), **GREEDY, batch_size=3)) == alone
    assert gpt2_pipe.tokenizer.padding_side == "right"  # the user's tokenizer is left as it was
    beams = {"do_sample": False, "max_new_tokens": 4, "num_beams": 2, "num_return_sequences": 2}
    batched = gpt2_pipe(prompts[:2], **beams, batch_size=2)
    assert [len(rows) for rows in batched] == [2, 2]
    assert batched == [gpt2_pipe(prompt, **beams) for prompt in prompts[:2]]


def test_chat_input_appends_the_assistant_reply(gpt2_pipe: TextGenerationPipeline) -> None:
    out = gpt2_pipe(USER, **GREEDY)
    assert len(out) == 1
    conversation = out[0]["generated_text"]
    assert conversation[:-1] == USER and conversation[-1]["role"] == "assistant"
    reply = conversation[-1]["content"]
    rendered = gpt2_pipe.tokenizer.apply_chat_template(USER, add_generation_prompt=True, tokenize=False)
    assert gpt2_pipe(rendered, **GREEDY, add_special_tokens=False)[0]["generated_text"] == rendered + reply
    batch = gpt2_pipe([USER, [{"role": "user", "content": "Another one"}]], **GREEDY)
    assert len(batch) == 2 and batch[0] == out
    prefill = gpt2_pipe([*USER, {"role": "assistant", "content": "I am"}], **GREEDY)[0]["generated_text"]
    assert len(prefill) == 2 and prefill[-1]["role"] == "assistant" and prefill[-1]["content"].startswith("I am")


def test_generation_settings_reach_generate(gpt2_pipe: TextGenerationPipeline) -> None:
    prompt_length = len(gpt2_pipe.tokenizer("Hello")["input_ids"])
    ids = gpt2_pipe("Hello", do_sample=False, max_new_tokens=3, return_tensors=True)[0]["generated_token_ids"]
    assert len(ids) == prompt_length + 3
    config = GenerationConfig(do_sample=False, max_new_tokens=2)
    ids = gpt2_pipe("Hello", generation_config=config, return_tensors=True)[0]["generated_token_ids"]
    assert len(ids) == prompt_length + 2
    torch.manual_seed(1)
    sampled = gpt2_pipe("Hello", do_sample=True, top_k=5, top_p=0.9, temperature=1.3, max_new_tokens=5)
    torch.manual_seed(1)
    assert gpt2_pipe("Hello", do_sample=True, top_k=5, top_p=0.9, temperature=1.3, max_new_tokens=5) == sampled
    text = gpt2_pipe("Hello", **{**GREEDY, "max_new_tokens": 12}, return_full_text=False)[0]["generated_text"]
    stop = text[2:4]
    if stop.strip():
        stopped = gpt2_pipe("Hello", **{**GREEDY, "max_new_tokens": 12}, return_full_text=False,
                            stop_strings=[stop])[0]["generated_text"]
        assert stop in stopped and len(stopped) < len(text)
    with pytest.raises(modelyard.errors.ModelyardError, match="max_new_toknes"):
        gpt2_pipe("Hello", max_new_toknes=3)


def test_pipeline_defaults_and_build_time_options(gpt2_dir: Path) -> None:
    pipe = modelyard.pipeline("text-generation", model=str(gpt2_dir), max_new_tokens=3, do_sample=False)
    assert pipe.generation_config.max_new_tokens == 256 and pipe.generation_config.do_sample is True
    assert pipe.generation_config.temperature == 0.7
    ids = pipe("Hello", return_tensors=True)[0]["generated_token_ids"]
    assert len(ids) == len(pipe.tokenizer("Hello")["input_ids"]) + 3
    assert pipe.model.generation_config.max_new_tokens is None  # the model's own config is untouched


def test_streaming_yields_the_generated_text(gpt2_pipe: TextGenerationPipeline) -> None:
    streamer = TextIteratorStreamer(gpt2_pipe.tokenizer, skip_prompt=True)
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(
        out=gpt2_pipe("Hello world", **GREEDY, streamer=streamer, return_full_text=False)))
    worker.start()
    streamed = "".join(streamer)
    worker.join(timeout=60)
    assert streamed == result["out"][0]["generated_text"] and streamed


def test_handle_long_generation_hole_keeps_the_prompt_end(gpt2_pipe: TextGenerationPipeline) -> None:
    tokenizer = gpt2_pipe.tokenizer
    saved = tokenizer.model_max_length
    tokenizer.model_max_length = 10
    try:
        prompt = "one two three four five six seven eight nine ten eleven twelve"
        ids = gpt2_pipe(prompt, do_sample=False, max_new_tokens=4, handle_long_generation="hole",
                        return_tensors=True)[0]["generated_token_ids"]
        assert len(ids) == 10 and ids[:6] == tokenizer(prompt)["input_ids"][-6:]
        with pytest.raises(PipelineError, match="room"):
            gpt2_pipe(prompt, do_sample=False, max_new_tokens=12, handle_long_generation="hole")
    finally:
        tokenizer.model_max_length = saved
    with pytest.raises(PipelineError, match="'hole'"):
        gpt2_pipe(prompt, handle_long_generation="cut")


def test_errors_name_the_problem(gpt2_pipe: TextGenerationPipeline, tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="mutually|cannot both"):
        gpt2_pipe("Hello", return_full_text=False, return_tensors=True)
    with pytest.raises(PipelineError, match="'role'"):
        gpt2_pipe([{"content": "no role"}])
    with pytest.raises(PipelineError, match="reads a prompt"):
        gpt2_pipe(42)
    plain = _gpt2_folder(tmp_path / "plain", chat_template=None)
    pipe = modelyard.pipeline("text-generation", model=str(plain))
    with pytest.raises(PipelineError, match="tokenizer.chat_template is not set"):
        pipe(USER, **GREEDY)
    from modelyard import BertConfig, BertForSequenceClassification

    classifier = BertForSequenceClassification(BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                                                          num_attention_heads=2, intermediate_size=32))
    with pytest.raises(PipelineError, match=r"causal language-model head \(AutoModelForCausalLM\)"):
        modelyard.pipeline("text-generation", model=classifier, tokenizer=pipe.tokenizer)


def test_task_is_inferred_for_causal_lm_checkpoints(gpt2_dir: Path) -> None:
    from modelyard.pipelines.tasks import fitting_tasks, infer_task

    config = modelyard.AutoConfig.from_pretrained(str(gpt2_dir))
    assert config.architectures == ["GPT2LMHeadModel"]
    assert infer_task(config, source=None, where="test") == "text-generation"
    assert "text-generation" in fitting_tasks(config)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1,
                                         architectures=["LlamaForCausalLM"]))
    assert infer_task(model.config, source=None, where="test") == "text-generation"


def test_generate_outputs_go_into_each_result(gpt2_pipe: TextGenerationPipeline) -> None:
    """With return_dict_in_generate, each returned sequence carries its own per-step scores (as the reference's
    records do) and, from beam search, its sequence score."""
    out = gpt2_pipe("Hello", do_sample=False, max_new_tokens=3, num_beams=2, num_return_sequences=2,
                    return_dict_in_generate=True, output_scores=True)
    assert len(out) == 2
    for record in out:
        assert torch.tensor(record["scores"]).shape == (3, 700)
        assert isinstance(record["sequences_scores"], float)
    assert out[0]["sequences_scores"] >= out[1]["sequences_scores"]
    greedy = gpt2_pipe(["Hello", "Good morning"], do_sample=False, max_new_tokens=3, return_dict_in_generate=True,
                       output_scores=True, batch_size=2)
    assert [torch.tensor(rows[0]["scores"]).shape for rows in greedy] == [(3, 700), (3, 700)]
