"""Causal-LM fine-tuning: DataCollatorForLanguageModeling(mlm=False) batches give the reference's loss on
the decoder fixtures (labels shifted inside the model), and the Trainer teaches tiny GPT-2 and Llama models
a small corpus tokenized by their own tokenizers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch
from common.parity import assert_outputs_close, load_model_case, parity_dir

import modelyard
from modelyard import (
    DataCollatorForLanguageModeling,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2TokenizerFast,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaTokenizerFast,
    Trainer,
    TrainingArguments,
)


@pytest.mark.parametrize("case_name", ["gpt2-lm-head-model", "llama-for-causal-lm", "qwen2-for-causal-lm"])
def test_collated_batch_gives_the_reference_loss(case_name: str) -> None:
    case = load_model_case(case_name)
    tokenizer = GPT2TokenizerFast.from_pretrained(parity_dir() / "bpe_tokenizers" / "gpt2")
    tokenizer.pad_token = tokenizer.convert_ids_to_tokens(0)  # the fixtures pad with id 0
    tokenizer.padding_side = "right"
    mask = case.inputs["attention_mask"]
    features = [{"input_ids": row[: int(n)].tolist()} for row, n in zip(case.inputs["input_ids"], mask.sum(-1))]
    batch = DataCollatorForLanguageModeling(tokenizer, mlm=False)(features)
    assert torch.equal(batch["input_ids"], case.inputs["input_ids"])
    assert torch.equal(batch["attention_mask"], mask)
    assert torch.equal(batch["labels"], case.inputs["labels"])  # the inputs, -100 on padding: shifted in the model
    model = getattr(modelyard, case.class_name).from_pretrained(case.folder, attn_implementation="eager")
    with torch.no_grad():
        out = model(**batch)
    assert_outputs_close(case, out, keys=["loss", "logits"])


def corpus(tokenizer: object, count: int = 48) -> list[dict]:
    """Short sentences built from a few patterns: learnable in a few epochs."""
    rng = random.Random(0)
    subjects, verbs, objects = ["the cat", "a dog", "my bird"], ["sees", "likes", "eats"], ["the fish", "a cake"]
    rows = []
    for _ in range(count):
        text = f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)}."
        rows.append({"input_ids": tokenizer(text)["input_ids"]})  # type: ignore[operator]
    return rows


def fit(model: torch.nn.Module, tokenizer: object, rows: list[dict], tmp_path: Path) -> tuple[float, float]:
    args = TrainingArguments(str(tmp_path / "out"), num_train_epochs=6, per_device_train_batch_size=8,
                             per_device_eval_batch_size=16, learning_rate=1e-2, save_strategy="no", disable_tqdm=True,
                             logging_steps=1000)
    trainer = Trainer(model, args, data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
                      train_dataset=rows, eval_dataset=rows)
    before = trainer.evaluate()["eval_loss"]
    trainer.train()
    return before, trainer.evaluate()["eval_loss"]


def test_gpt2_causal_lm_fine_tuning_learns(tmp_path: Path) -> None:
    tokenizer = GPT2TokenizerFast.from_pretrained(parity_dir() / "bpe_tokenizers" / "gpt2")
    tokenizer.pad_token = tokenizer.eos_token  # GPT-2 has no pad token; the usual choice
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=4, n_positions=32)
    before, after = fit(GPT2LMHeadModel(config), tokenizer, corpus(tokenizer), tmp_path)
    assert after < before * 0.5, (before, after)


def test_llama_causal_lm_fine_tuning_learns(tmp_path: Path) -> None:
    tokenizer = LlamaTokenizerFast.from_pretrained(parity_dir() / "bpe_tokenizers" / "llama")
    tokenizer.pad_token = tokenizer.eos_token
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=32,
                         pad_token_id=tokenizer.pad_token_id)
    model = LlamaForCausalLM(config)
    model.gradient_checkpointing_enable()  # training with checkpointing turns the cache off by itself
    before, after = fit(model, tokenizer, corpus(tokenizer), tmp_path)
    assert after < before * 0.5, (before, after)
