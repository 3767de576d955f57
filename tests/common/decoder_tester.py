"""The common tester for decoder families (GPT-2, Llama, Mistral, Qwen2), on top of :mod:`common.model_tester`.

A family's test module subclasses :class:`DecoderTesterMixin` with ``all_model_classes`` (base model first)
and ``get_config()``; the config must have ``pad_token_id=0`` and ``use_cache=False`` (the common checks
compare outputs field by field, and a cache is not a tensor). Besides the common checks it proves, for
every class that carries a cache: the cache gives the logits of a full forward (also fed back as the legacy
tuple), a left-padded batch gives each row what that prompt gives alone (prompt and next step), packed
sequences attend separately, SDPA equals the explicit path, and ``inputs_embeds`` equals ``input_ids``.

:func:`check_saves_load_in_reference` is the live check that modelyard's saves load in the reference library
with the same outputs (skipped without ``.venv-ref``).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch

from modelyard.configuration import PretrainedConfig
from modelyard.modeling import PreTrainedModel

from .model_tester import ModelTesterMixin, _saved_keys, assert_same_outputs

REPO_ROOT = Path(__file__).resolve().parents[2]
REF_PY = REPO_ROOT / ".venv-ref" / "bin" / "python"
TASKS = ("CausalLM", "SequenceClassification", "TokenClassification", "QuestionAnswering")


def task_of(model_class: type) -> str:
    name = model_class.__name__
    if name.endswith(("ForCausalLM", "LMHeadModel")):
        return "CausalLM"
    if name.endswith("DoubleHeadsModel"):  # GPT-2's language-model + multiple-choice head
        return "DoubleHeads"
    for task in TASKS[1:]:
        if name.endswith("For" + task):
            return task
    return "base"


def left_padding_positions(mask: torch.Tensor) -> torch.Tensor:
    """Positions counted over real tokens (what generate() passes): each row gets the positions it has alone."""
    return (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 1)


class DecoderTesterMixin(ModelTesterMixin):
    batch_size: ClassVar[int] = 3
    seq_length: ClassVar[int] = 7
    resize_embeddings = True

    # ------------------------------------------------------------------ what the common tester needs
    def get_inputs(self, model_class: type[PreTrainedModel], config: PretrainedConfig, with_labels: bool = False
                   ) -> dict[str, Any]:
        g = torch.Generator().manual_seed(7)
        shape = (self.batch_size, self.seq_length)
        ids = torch.randint(1, config.vocab_size, shape, generator=g)
        mask = torch.ones(shape, dtype=torch.long)
        mask[1, -2:] = 0  # one right-padded row
        ids = ids.masked_fill(mask == 0, 0)
        inputs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        task = task_of(model_class)
        if task == "CausalLM":
            inputs["labels"] = ids.masked_fill(mask == 0, -100)
        elif task == "DoubleHeads":  # each row one choice: the mc label is its only index
            inputs["labels"] = ids.masked_fill(mask == 0, -100)
            inputs["mc_labels"] = torch.zeros(1, dtype=torch.long)
        elif task == "SequenceClassification":
            inputs["labels"] = torch.randint(0, config.num_labels, (self.batch_size,), generator=g)
        elif task == "TokenClassification":
            inputs["labels"] = torch.randint(0, config.num_labels, shape, generator=g).masked_fill(mask == 0, -100)
        elif task == "QuestionAnswering":
            inputs["start_positions"] = torch.tensor([1, 2, 0])
            inputs["end_positions"] = torch.tensor([4, 3, 9])
        return inputs

    def expected_output_shapes(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                               inputs: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        b, s = self.batch_size, self.seq_length
        return {
            "base": {"last_hidden_state": (b, s, config.hidden_size)},
            "CausalLM": {"logits": (b, s, config.vocab_size)},
            "DoubleHeads": {"logits": (b, s, config.vocab_size), "mc_logits": (b,)},
            "SequenceClassification": {"logits": (b, config.num_labels)},
            "TokenClassification": {"logits": (b, s, config.num_labels)},
            "QuestionAnswering": {"start_logits": (b, s), "end_logits": (b, s)},
        }[task_of(model_class)]

    def hidden_state_shape(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                           inputs: dict[str, Any]) -> tuple[int, ...]:
        return (self.batch_size, self.seq_length, config.hidden_size)

    def attention_shape(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                        inputs: dict[str, Any]) -> tuple[int, ...]:
        return (self.batch_size, config.num_attention_heads, self.seq_length, self.seq_length)

    # ------------------------------------------------------------------ where decoders differ
    def test_class_attributes(self, model_class: type[PreTrainedModel]) -> None:
        """As the common check, except that a head may keep the base model under its own prefix (the
        reference's Llama and Qwen2 QA heads use ``transformer``)."""
        base = self.base_class
        assert model_class.config_class is base.config_class is not None
        model = model_class(self.get_config())
        if model_class is not base:
            assert isinstance(getattr(model, model_class.base_model_prefix), base)
            assert model.base_model is getattr(model, model_class.base_model_prefix)
        assert model.num_parameters() == sum(p.numel() for p in model.parameters())

    def test_head_checkpoint_into_base(self, head_class: type[PreTrainedModel], tmp_path: Path) -> None:
        if head_class.base_model_prefix != self.base_class.base_model_prefix:
            # The reference does not map a `transformer.` checkpoint onto a base model whose prefix is `model`
            # either: every key is reported, nothing is loaded silently.
            config = self.get_config()
            self.make_model(head_class, config).save_pretrained(tmp_path)
            _, report = self.base_class.from_pretrained(tmp_path, output_loading_info=True)
            assert set(report.unexpected_keys) == set(_saved_keys(tmp_path))
            return
        super().test_head_checkpoint_into_base(head_class, tmp_path)

    def test_base_checkpoint_into_head(self, head_class: type[PreTrainedModel], tmp_path: Path) -> None:
        config = self.get_config()
        if task_of(head_class) == "CausalLM" and config.tie_word_embeddings:
            # a tied LM head has no weights of its own: the base checkpoint is the whole model
            self.make_model(self.base_class, config).save_pretrained(tmp_path)
            head, report = head_class.from_pretrained(tmp_path, output_loading_info=True)
            assert report.verdict == "complete", report
            assert head.get_output_embeddings().weight is head.get_input_embeddings().weight
            return
        super().test_base_checkpoint_into_head(head_class, tmp_path)

    # ------------------------------------------------------------------ decoder behaviour
    def _cached(self, model_class: type[PreTrainedModel]) -> bool:
        return task_of(model_class) in ("base", "CausalLM", "DoubleHeads")

    @staticmethod
    def _main(out: Any) -> torch.Tensor:
        return out.logits if out.get("logits") is not None else out.last_hidden_state

    def test_cache_equals_full_forward(self, model_class: type[PreTrainedModel]) -> None:
        if not self._cached(model_class):
            pytest.skip("this head returns no cache")
        config = self.get_config()
        model = self.make_model(model_class, config)
        ids = self.inputs_for(model_class, config)["input_ids"][[0, 2]]  # unpadded rows
        full = self._main(self.run(model, {"input_ids": ids}, use_cache=False))
        first = self.run(model, {"input_ids": ids[:, :4]}, use_cache=True)
        cache = first.past_key_values
        assert cache is not None and cache.get_seq_length() == 4
        steps = [self._main(first)]
        for t in range(4, ids.shape[1]):  # one token at a time, as generation does
            out = self.run(model, {"input_ids": ids[:, t : t + 1], "past_key_values": cache}, use_cache=True)
            steps.append(self._main(out))
            cache = out.past_key_values
        assert cache.get_seq_length() == ids.shape[1]
        assert_same_outputs(torch.cat(steps, 1), full, depth=config.num_hidden_layers + 2, width=config.hidden_size)
        # the legacy tuple ((key, value) per layer) continues the same way; a sliding-window layer keeps only its
        # window, which the tuple cannot say (the reference's tuple loses the same), so only full caches are fed back
        again = self.run(model, {"input_ids": ids[:, :4]}, use_cache=True).past_key_values
        if any(getattr(layer, "is_sliding", False) for layer in again.layers):
            return
        legacy = again.to_legacy_cache()
        assert isinstance(legacy, tuple) and len(legacy) == config.num_hidden_layers
        out = self.run(model, {"input_ids": ids[:, 4:], "past_key_values": legacy}, use_cache=True)
        assert_same_outputs(self._main(out), full[:, 4:], depth=config.num_hidden_layers + 2, width=config.hidden_size)
        assert out.past_key_values.get_seq_length() == ids.shape[1]

    def test_static_cache_equals_full_forward(self, model_class: type[PreTrainedModel]) -> None:
        """A fixed-size cache (keys over max_cache_len positions, the unwritten ones hidden by the mask)."""
        if not self._cached(model_class):
            pytest.skip("this head returns no cache")
        from modelyard.generation.caches import StaticCache

        config = self.get_config()
        model = self.make_model(model_class, config)
        ids = self.inputs_for(model_class, config)["input_ids"][[0, 2]]
        full = self._main(self.run(model, {"input_ids": ids}, use_cache=False))
        cache = StaticCache(config=config, max_cache_len=ids.shape[1] + 3)
        steps = [self._main(self.run(model, {"input_ids": ids[:, :4], "past_key_values": cache,
                                             "cache_position": torch.arange(4)}, use_cache=True))]
        for t in range(4, ids.shape[1]):
            steps.append(self._main(self.run(model, {"input_ids": ids[:, t : t + 1], "past_key_values": cache,
                                                     "cache_position": torch.tensor([t])}, use_cache=True)))
        assert_same_outputs(torch.cat(steps, 1), full, depth=config.num_hidden_layers + 2, width=config.hidden_size)

    @pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
    def test_left_padded_batch_equals_one_by_one(self, model_class: type[PreTrainedModel],
                                                 attn_implementation: str) -> None:
        if not self._cached(model_class):
            pytest.skip("covered by the classes with a cache")
        config = self.get_config()
        config._attn_implementation = attn_implementation
        model = self.make_model(model_class, config)
        g = torch.Generator().manual_seed(3)
        prompts = [torch.randint(1, config.vocab_size, (n,), generator=g) for n in (6, 3, 5)]
        nxt = torch.randint(1, config.vocab_size, (len(prompts), 1), generator=g)
        width = max(len(p) for p in prompts)
        ids = torch.zeros(len(prompts), width, dtype=torch.long)
        mask = torch.zeros(len(prompts), width, dtype=torch.long)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt):] = prompt
            mask[row, width - len(prompt):] = 1
        batch = self.run(model, {"input_ids": ids, "attention_mask": mask,
                                 "position_ids": left_padding_positions(mask)}, use_cache=True)
        mask2 = torch.cat([mask, torch.ones(len(prompts), 1, dtype=torch.long)], 1)
        step = self.run(model, {"input_ids": nxt, "attention_mask": mask2, "past_key_values": batch.past_key_values,
                                "position_ids": left_padding_positions(mask2)[:, -1:]}, use_cache=True)
        for row, prompt in enumerate(prompts):
            alone = self.run(model, {"input_ids": prompt[None]}, use_cache=True)
            alone_step = self.run(model, {"input_ids": nxt[row : row + 1], "past_key_values": alone.past_key_values},
                                  use_cache=True)
            real = self._main(batch)[row : row + 1, width - len(prompt):]
            assert_same_outputs(real, self._main(alone), depth=config.num_hidden_layers + 2, width=config.hidden_size)
            assert_same_outputs(self._main(step)[row : row + 1], self._main(alone_step),
                                depth=config.num_hidden_layers + 2, width=config.hidden_size)

    def test_packed_sequences_attend_separately(self, model_class: type[PreTrainedModel]) -> None:
        """Positions that restart mark sequences packed in one row (no mask, no cache), as in the reference."""
        if not self._cached(model_class):
            pytest.skip("covered by the classes with a cache")
        config = self.get_config()
        model = self.make_model(model_class, config)
        ids = torch.randint(1, config.vocab_size, (1, 7), generator=torch.Generator().manual_seed(5))
        positions = torch.tensor([[0, 1, 2, 0, 1, 2, 3]])
        packed = self._main(self.run(model, {"input_ids": ids, "position_ids": positions}, use_cache=False))
        first = self._main(self.run(model, {"input_ids": ids[:, :3]}, use_cache=False))
        second = self._main(self.run(model, {"input_ids": ids[:, 3:]}, use_cache=False))
        assert_same_outputs(packed, torch.cat([first, second], 1), depth=config.num_hidden_layers + 2,
                            width=config.hidden_size)

    def test_sdpa_equals_eager(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        sdpa = self.run(model, inputs)
        config.__dict__["_attn_implementation"] = "eager"
        model.config._attn_implementation = "eager"
        eager = self.run(model, inputs)
        assert_same_outputs(sdpa, eager, depth=config.num_hidden_layers + 2, width=config.hidden_size)

    def test_inputs_embeds_equal_input_ids(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        if task_of(model_class) == "SequenceClassification":
            inputs = {k: v[:1] for k, v in inputs.items()}  # padding cannot be found in embeddings
        embeds = model.get_input_embeddings()(inputs["input_ids"]).detach()
        by_embeds = {k: v for k, v in inputs.items() if k != "input_ids"}
        assert_same_outputs(self.run(model, inputs), self.run(model, dict(by_embeds, inputs_embeds=embeds)))
        with pytest.raises(ValueError, match="exactly one of input_ids or inputs_embeds"):
            self.run(model, dict(inputs, inputs_embeds=embeds))

    def test_sequence_classification_needs_a_pad_token_for_batches(self, model_class: type[PreTrainedModel]) -> None:
        if task_of(model_class) != "SequenceClassification":
            pytest.skip("only the sequence-classification head pools by padding")
        config = self.get_config()
        config.pad_token_id = None
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        with pytest.raises(ValueError, match="pad_token_id"):
            self.run(model, inputs)
        one = self.run(model, {"input_ids": inputs["input_ids"][:1]})  # a single row pools its last position
        assert one.logits.shape == (1, config.num_labels)


_REFERENCE_LOAD = """
import json, sys, torch, transformers
from safetensors.torch import load_file
transformers.logging.set_verbosity_error()
report = {}
for folder in sys.argv[1:]:
    data = load_file(folder + "/expected.safetensors")
    inputs = {k[6:]: v for k, v in data.items() if k.startswith("input.")}
    cls = getattr(transformers, json.load(open(folder + "/config.json"))["architectures"][0])
    model, info = cls.from_pretrained(folder, output_loading_info=True, attn_implementation="eager")
    with torch.no_grad():
        out = model.eval()(**inputs, use_cache=False) if "Question" not in cls.__name__ else model.eval()(**inputs)
    diffs = [(out[k[7:]] - v).abs().max().item() for k, v in data.items() if k.startswith("output.")]
    report[folder] = {"info": {k: [str(x) for x in v] for k, v in info.items() if v}, "diff": max(diffs)}
    if "generated" in data:  # generate() with the settings of the generation_config.json modelyard wrote
        with torch.no_grad():
            tokens = model.generate(inputs["input_ids"], attention_mask=inputs.get("attention_mask"))
        report[folder]["generated"] = tokens.tolist()
        report[folder]["generation_config"] = model.generation_config.to_diff_dict()
print(json.dumps(report))
"""


def check_saves_load_in_reference(tester: DecoderTesterMixin, tmp_path: Path) -> None:
    """Save every class of the family with modelyard; the reference loads each with no missing/unexpected key
    and computes the same outputs."""
    from safetensors.torch import load_file, save_file

    folders = []
    for model_class in tester.all_model_classes:
        config = tester.get_config()
        model = tester.make_model(model_class, config)
        inputs = tester.inputs_for(model_class, config)
        folder = tmp_path / model_class.__name__
        causal = task_of(model_class) == "CausalLM"
        if causal:  # settings the reference must read back from generation_config.json to make the same tokens
            model.generation_config.update(**GENERATION_SETTINGS, pad_token_id=0, eos_token_id=None)
        model.save_pretrained(folder)
        out = tester.run(model, inputs)
        tensors = {f"input.{k}": v for k, v in inputs.items()}
        tensors.update({f"output.{k}": v for k, v in out.items() if isinstance(v, torch.Tensor)})
        if causal:
            with torch.no_grad():
                tensors["generated"] = model.generate(inputs["input_ids"], attention_mask=inputs.get("attention_mask"))
        save_file({k: v.contiguous() for k, v in tensors.items()}, str(folder / "expected.safetensors"))
        folders.append(str(folder))
    proc = subprocess.run([str(REF_PY), "-c", _REFERENCE_LOAD, *folders], capture_output=True, text=True,
                          timeout=300, cwd=REPO_ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report) == len(folders)
    for folder, result in report.items():
        assert result["info"] == {}, (folder, result["info"])
        assert result["diff"] <= 1e-4, (folder, result["diff"])
        generated = load_file(str(Path(folder) / "expected.safetensors")).get("generated")
        assert (generated is None) == ("generated" not in result), folder
        if generated is not None:
            assert result["generated"] == generated.tolist(), folder
            read_back = result["generation_config"]
            assert {k: read_back.get(k) for k in GENERATION_SETTINGS} == GENERATION_SETTINGS, read_back


# Non-default settings in a generation_config.json saved by modelyard: each changes the greedy tokens of a tiny
# random model, so the reference only generates the same ones if it reads them all back.
GENERATION_SETTINGS = {"max_new_tokens": 7, "num_beams": 2, "repetition_penalty": 1.7, "no_repeat_ngram_size": 2,
                       "min_new_tokens": 5}


def check_decoder_fixture(case_name: str) -> None:
    """One reference parity fixture of a decoder family: the checkpoint loads completely on the eager and the SDPA
    path, and each path's outputs match what the reference recorded (:func:`assert_decoder_parity`)."""
    import modelyard
    from common.parity import load_model_case

    case = load_model_case(case_name)
    model_class = getattr(modelyard, case.class_name)
    for attn in ("eager", "sdpa"):
        model, report = model_class.from_pretrained(case.folder, output_loading_info=True, attn_implementation=attn,
                                                    **case.config_overrides)
        assert report.verdict == "complete" and not report.unexpected_keys, report
        with torch.no_grad():
            out = model(**case.inputs, **case.forward_options)
        assert_decoder_parity(case, out, attn_implementation=attn)


def assert_decoder_parity(case: Any, out: Any, *, attn_implementation: str) -> None:
    """The reference fixture's outputs (recorded on its eager path) against ``out``.

    On SDPA, a query row that may attend to nothing (a padding position before the first real token, or past
    the window of a sliding layer) comes out of torch's kernel differently from the eager path's even spread,
    in the reference as here; those rows are never read, so per-token outputs are compared on real tokens
    (and a loss over a padded batch on the eager path only).
    """
    import dataclasses

    from common.parity import assert_outputs_close

    if attn_implementation == "eager" or "attention_mask" not in case.inputs:
        assert_outputs_close(case, out)
        return
    real = case.inputs["attention_mask"].bool()

    def masked(value: torch.Tensor) -> torch.Tensor:
        if value.dim() >= 2 and tuple(value.shape[:2]) == tuple(real.shape):
            return value.masked_fill(~real.view(*real.shape, *([1] * (value.dim() - 2))), 0.0)
        return value

    # a loss reads every position (a QA softmax spans the padding; a left-padded row's last pad predicts its
    # first token), so it is compared on the eager path only
    expected = {k: masked(v) for k, v in case.outputs.items() if k != "loss" or bool(real.all())}
    actual: dict[str, Any] = {}
    for key, value in out.items():
        if isinstance(value, torch.Tensor):
            actual[key] = masked(value.detach())
        elif isinstance(value, tuple) and all(isinstance(v, torch.Tensor) for v in value):
            actual[key] = tuple(masked(v.detach()) for v in value)
    assert_outputs_close(dataclasses.replace(case, outputs=expected), actual)
