"""The common model tester: behaviour every model family and head must have.

A family's test module subclasses :class:`ModelTesterMixin` (or :class:`TextEncoderTesterMixin` for
BERT-like encoders) in a ``Test*`` class and provides:

- ``all_model_classes``: the base model class first, then every head;
- ``get_config()``: a fresh tiny config (a few thousand parameters: tests stay fast);
- ``get_inputs(model_class, config, with_labels)``: forward keyword arguments (labels included on request);
- ``expected_output_shapes(model_class, config, inputs)``: ``{output field: shape}`` for the main outputs.

Optional hooks describe what the family has (``has_attentions``, ``hidden_state_shape``, ...). Every test
method takes a ``model_class`` argument; :meth:`ModelTesterMixin.pytest_generate_tests` parametrises it
over ``all_model_classes`` (ids are the class names), so a failure names the class.

Checks: forward shapes, ``ModelOutput`` access by attribute / key / index and ``return_dict=False``,
hidden-state and attention counts and shapes, save/load round trip (same bytes twice, identical outputs
after reload), base -> head and head -> base loading with the right ``LoadReport`` verdicts, loss with
labels and backward, bf16 loading, resizing the token embeddings, gradient checkpointing, head masks and
head pruning where the family supports them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch
from torch import nn

from modelyard.configuration import PretrainedConfig
from modelyard.modeling import PreTrainedModel
from modelyard.outputs import ModelOutput

from .tolerance import assert_close_kernels, assert_same_weights

LABEL_NAMES = ("labels", "start_positions", "end_positions")


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def flat_tensors(value: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """A ModelOutput / tuple / tensor as ``{path: tensor}`` (tuples become ``name.i``; None is skipped)."""
    if isinstance(value, torch.Tensor):
        return {prefix: value}
    if isinstance(value, ModelOutput):
        items = value.items()
    elif isinstance(value, (tuple, list)):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return {}
    flat: dict[str, torch.Tensor] = {}
    for key, item in items:
        if item is not None:
            flat.update(flat_tensors(item, f"{prefix}.{key}" if prefix else key))
    return flat


def assert_same_outputs(a: Any, b: Any, *, depth: int = 4, width: int = 64) -> None:
    """The same output fields, each equal up to reordered float sums (``tests/common/tolerance.py``):
    kernels differ across CPUs and with memory layout, so outputs are never compared bit for bit."""
    fa, fb = flat_tensors(a), flat_tensors(b)
    assert fa.keys() == fb.keys(), f"different outputs: {sorted(fa)} vs {sorted(fb)}"
    for key in fa:
        if fa[key].is_floating_point():
            assert_close_kernels(fa[key], fb[key], depth=depth, width=width, what=key)
        else:
            assert torch.equal(fa[key], fb[key]), key


def perturb(model: nn.Module, seed: int = 0, std: float = 0.05) -> None:
    """Move every trainable weight off its initial value, so LayerNorm ones / zero biases cannot hide bugs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if param.requires_grad and param.is_floating_point():
                param.add_(torch.randn(param.shape, generator=g).to(param.dtype) * std)


class ModelTesterMixin:
    """Common tests; see the module docstring for what a subclass provides."""

    all_model_classes: ClassVar[tuple[type[PreTrainedModel], ...]] = ()
    has_attentions: ClassVar[bool] = True
    has_hidden_states: ClassVar[bool] = True
    head_masking: ClassVar[bool] = False
    pruning: ClassVar[bool] = False
    resize_embeddings: ClassVar[bool] = False
    # Parameters that legitimately get no gradient from the loss (regexes), e.g. a pooler a head skips.
    params_without_grad: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ what a family provides
    def get_config(self) -> PretrainedConfig:
        raise NotImplementedError

    def get_inputs(self, model_class: type[PreTrainedModel], config: PretrainedConfig, with_labels: bool = False
                   ) -> dict[str, Any]:
        raise NotImplementedError

    def expected_output_shapes(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                               inputs: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def num_hidden_states(self, config: PretrainedConfig) -> int:
        return config.num_hidden_layers + 1

    def num_attention_layers(self, config: PretrainedConfig) -> int:
        return config.num_hidden_layers

    def hidden_state_shape(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                           inputs: dict[str, Any]) -> tuple[int, ...] | None:
        """Shape of every entry of ``hidden_states`` (None: do not check shapes)."""
        return None

    def attention_shape(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                        inputs: dict[str, Any]) -> tuple[int, ...] | None:
        """Shape of every entry of ``attentions`` (None: do not check shapes)."""
        return None

    # ------------------------------------------------------------------ plumbing
    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        if "model_class" in metafunc.fixturenames:
            metafunc.parametrize("model_class", self.all_model_classes, ids=lambda c: c.__name__)
        if "head_class" in metafunc.fixturenames:
            metafunc.parametrize("head_class", self.all_model_classes[1:], ids=lambda c: c.__name__)

    @property
    def base_class(self) -> type[PreTrainedModel]:
        return self.all_model_classes[0]

    def make_model(self, model_class: type[PreTrainedModel], config: PretrainedConfig | None = None,
                   seed: int = 0) -> PreTrainedModel:
        torch.manual_seed(seed)
        model = model_class(config if config is not None else self.get_config())
        perturb(model, seed)
        return model.eval()

    def inputs_for(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                   with_labels: bool = False) -> dict[str, Any]:
        inputs = self.get_inputs(model_class, config, with_labels)
        if not with_labels:
            inputs = {k: v for k, v in inputs.items() if k not in LABEL_NAMES}
        return inputs

    @staticmethod
    def run(model: nn.Module, inputs: dict[str, Any], **options: Any) -> Any:
        with torch.no_grad():
            return model(**inputs, **options)

    # ------------------------------------------------------------------ structure and outputs
    def test_class_attributes(self, model_class: type[PreTrainedModel]) -> None:
        base = self.base_class
        assert model_class.config_class is base.config_class is not None
        assert model_class.base_model_prefix == base.base_model_prefix != ""
        model = model_class(self.get_config())
        if model_class is not base:
            assert isinstance(getattr(model, model_class.base_model_prefix), base)
            assert model.base_model is getattr(model, model_class.base_model_prefix)
        assert model.num_parameters() == sum(p.numel() for p in model.parameters())
        assert model.dtype == torch.float32 and model.device.type == "cpu"

    def test_forward_shapes(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        out = self.run(model, inputs)
        assert isinstance(out, ModelOutput)
        expected = self.expected_output_shapes(model_class, config, inputs)
        assert expected, "expected_output_shapes must name at least one output"
        for name, shape in expected.items():
            value = getattr(out, name)
            assert value is not None, f"{model_class.__name__} output has no {name}"
            assert tuple(value.shape) == tuple(shape), f"{name}: {tuple(value.shape)} != {tuple(shape)}"
            assert torch.isfinite(value).all(), f"{name} has non-finite values"
        assert out.get("loss") is None, "no labels were given, so there must be no loss"

    def test_output_access_and_return_dict(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        out = self.run(model, inputs)
        for i, key in enumerate(out.keys()):
            assert out[key] is getattr(out, key) is out[i] is out.to_tuple()[i]
            assert key in out
        assert list(out) == list(out.keys()) and len(out) == len(out.keys())
        # a real mapping, as the reference's outputs are: dict(), .items(), isinstance checks
        assert isinstance(out, dict) and dict(out) == dict(out.items()) and list(dict(out)) == list(out.keys())
        with pytest.raises(KeyError):
            out["no_such_field"]
        as_tuple = self.run(model, inputs, return_dict=False)
        assert isinstance(as_tuple, tuple)
        assert_same_outputs(tuple(v for v in as_tuple if v is not None), out.to_tuple())
        config_off = self.get_config()
        config_off.return_dict = False
        assert isinstance(self.run(model_class(config_off).eval(), inputs), tuple)

    def test_eval_is_deterministic(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        assert_same_outputs(self.run(model, inputs), self.run(model, inputs))

    def test_hidden_states_and_attentions(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        plain = self.run(model, inputs)
        assert plain.get("hidden_states") is None and plain.get("attentions") is None
        if self.has_hidden_states:
            out = self.run(model, inputs, output_hidden_states=True)
            assert len(out.hidden_states) == self.num_hidden_states(config)
            shape = self.hidden_state_shape(model_class, config, inputs)
            if shape is not None:
                assert all(tuple(h.shape) == shape for h in out.hidden_states), [h.shape for h in out.hidden_states]
            # the main outputs do not change when more is returned
            for key in plain.keys():
                assert_close_kernels(out[key], plain[key], depth=4, what=key)
        if self.has_attentions:
            out = self.run(model, inputs, output_attentions=True)
            assert len(out.attentions) == self.num_attention_layers(config)
            shape = self.attention_shape(model_class, config, inputs)
            for probs in out.attentions:
                if shape is not None:
                    assert tuple(probs.shape) == shape
                torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:-1]))
            for key in plain.keys():
                torch.testing.assert_close(plain[key], out[key], atol=1e-5, rtol=0)  # SDPA vs explicit path
        # the same switches read from the config
        config_on = self.get_config()
        config_on.output_hidden_states = self.has_hidden_states
        config_on.output_attentions = self.has_attentions
        out = self.run(self.make_model(model_class, config_on), inputs)
        assert (out.get("hidden_states") is not None) == self.has_hidden_states
        assert (out.get("attentions") is not None) == self.has_attentions

    # ------------------------------------------------------------------ saving and loading
    def test_save_load_round_trip(self, model_class: type[PreTrainedModel], tmp_path: Path) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        model.save_pretrained(tmp_path / "a")
        model.save_pretrained(tmp_path / "b")
        first, second = file_bytes(tmp_path / "a"), file_bytes(tmp_path / "b")
        # models that can generate also save their generation settings, as the reference's do
        expected = {"config.json", "model.safetensors"} | ({"generation_config.json"} if model.can_generate() else set())
        assert first.keys() == expected
        assert first == second, "saving the same model twice must give the same bytes"
        loaded, report = model_class.from_pretrained(tmp_path / "a", output_loading_info=True)
        assert report.verdict == "complete", report
        assert not report.missing_keys and not report.unexpected_keys and not report.mismatched_keys
        assert type(loaded) is model_class and not loaded.training
        assert loaded.config.architectures == [model_class.__name__]
        assert loaded.generation_config == model.generation_config
        assert_same_weights(model, loaded)  # the round-trip promise: bit for bit
        assert_same_outputs(self.run(model, inputs), self.run(loaded, inputs))  # kernels: within rounding
        loaded.save_pretrained(tmp_path / "c")
        assert file_bytes(tmp_path / "c")["model.safetensors"] == first["model.safetensors"]

    def test_base_checkpoint_into_head(self, head_class: type[PreTrainedModel], tmp_path: Path) -> None:
        config = self.get_config()
        base = self.make_model(self.base_class, config)
        base.save_pretrained(tmp_path)
        head, report = head_class.from_pretrained(tmp_path, output_loading_info=True)
        prefix = head_class.base_model_prefix
        assert report.verdict == "new_head", report
        assert report.missing_keys and all(not k.startswith(prefix + ".") for k in report.missing_keys)
        # only leftovers the class expects (e.g. a pooler the head does not use), listed as the reference lists them
        assert set(report.unexpected_keys) == set(report.expected_leftovers), report.unexpected_keys
        assert "were not used when initializing" not in report.summary(head_class.__name__, "here")
        head_state = head.state_dict()
        for key, value in base.state_dict().items():
            if f"{prefix}.{key}" in head_state:
                assert torch.equal(value, head_state[f"{prefix}.{key}"]), key
        assert all(not p.is_meta for p in head.parameters())

    def test_head_checkpoint_into_base(self, head_class: type[PreTrainedModel], tmp_path: Path) -> None:
        config = self.get_config()
        head = self.make_model(head_class, config)
        head.save_pretrained(tmp_path)
        base, report = self.base_class.from_pretrained(tmp_path, output_loading_info=True)
        prefix = head_class.base_model_prefix + "."
        head_state = head.state_dict()
        provided = {k[len(prefix):] for k in head_state if k.startswith(prefix)}
        lacking = sorted(set(base.state_dict()) - provided)
        assert report.missing_keys == lacking
        assert report.verdict == ("complete" if not lacking else "partial"), report
        saved_head_only = {k for k in _saved_keys(tmp_path) if not k.startswith(prefix)}
        assert set(report.unexpected_keys) == saved_head_only  # every unused checkpoint tensor, as the reference
        for key in provided:
            assert torch.equal(base.state_dict()[key], head_state[prefix + key]), key

    def test_bfloat16_loading(self, model_class: type[PreTrainedModel], tmp_path: Path) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        model.save_pretrained(tmp_path)
        loaded = model_class.from_pretrained(tmp_path, dtype=torch.bfloat16)
        assert loaded.dtype == torch.bfloat16 and loaded.config.dtype == "bfloat16"
        assert all(p.dtype == torch.bfloat16 for p in loaded.parameters() if p.is_floating_point())
        inputs = {k: v.to(torch.bfloat16) if torch.is_tensor(v) and v.is_floating_point() else v
                  for k, v in self.inputs_for(model_class, config).items()}
        out = self.run(loaded, inputs)
        reference = self.run(model, self.inputs_for(model_class, config))
        for name in self.expected_output_shapes(model_class, config, inputs):
            assert out[name].dtype == torch.bfloat16
            torch.testing.assert_close(out[name].float(), reference[name], atol=0.1, rtol=0.1)
        # a bf16 save keeps bf16 with dtype="auto"
        loaded.save_pretrained(tmp_path / "bf16")
        assert model_class.from_pretrained(tmp_path / "bf16", dtype="auto").dtype == torch.bfloat16

    # ------------------------------------------------------------------ training
    def test_loss_and_backward(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config, with_labels=True)
        if not any(k in inputs for k in LABEL_NAMES):
            pytest.skip(f"{model_class.__name__} takes no labels")
        model.train()
        out = model(**inputs)
        assert out.loss is not None and out.loss.dim() == 0 and torch.isfinite(out.loss)
        assert out[0] is out.loss and out.to_tuple()[0] is out.loss
        out.loss.backward()
        allowed = [re.compile(p) for p in self.params_without_grad]
        for name, param in model.named_parameters():
            if param.requires_grad and not any(p.search(name) for p in allowed):
                assert param.grad is not None, f"{name} got no gradient"
        as_tuple = model.eval()(**inputs, return_dict=False)
        assert as_tuple[0].dim() == 0

    def test_gradient_checkpointing(self, model_class: type[PreTrainedModel], monkeypatch: pytest.MonkeyPatch) -> None:
        if not model_class.supports_gradient_checkpointing:
            with pytest.raises(NotImplementedError):
                model_class(self.get_config()).gradient_checkpointing_enable()
            return
        import torch.utils.checkpoint as ckpt

        calls = []
        original = ckpt.checkpoint

        def counting(*args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return original(*args, **kwargs)

        monkeypatch.setattr(ckpt, "checkpoint", counting)
        config = self.get_config()
        inputs = self.inputs_for(model_class, config, with_labels=True)

        def loss_and_grads(model: nn.Module) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            model.train()
            torch.manual_seed(123)  # the same dropout masks in both runs
            out = model(**inputs)
            value = out.loss if out.get("loss") is not None else out[0].float().pow(2).mean()
            value.backward()
            return value.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}

        plain_loss, plain_grads = loss_and_grads(self.make_model(model_class, config))
        model = self.make_model(model_class, config)
        model.gradient_checkpointing_enable()
        assert model.is_gradient_checkpointing
        ckpt_loss, ckpt_grads = loss_and_grads(model)
        assert calls, "gradient checkpointing was enabled but never used"
        torch.testing.assert_close(ckpt_loss, plain_loss)
        assert ckpt_grads.keys() == plain_grads.keys()
        for name in plain_grads:
            torch.testing.assert_close(ckpt_grads[name], plain_grads[name], atol=1e-6, rtol=1e-5)
        model.gradient_checkpointing_disable()
        assert not model.is_gradient_checkpointing

    # ------------------------------------------------------------------ embeddings and heads
    def test_resize_token_embeddings(self, model_class: type[PreTrainedModel]) -> None:
        if not self.resize_embeddings:
            pytest.skip("this family has no token embeddings")
        config = self.get_config()
        model = self.make_model(model_class, config)
        old = model.get_input_embeddings().weight.detach().clone()
        vocab = old.shape[0]
        new = model.resize_token_embeddings(vocab + 5)
        assert new is model.get_input_embeddings() and new.weight.shape == (vocab + 5, old.shape[1])
        assert model.config.vocab_size == vocab + 5
        assert torch.equal(new.weight[:vocab], old)
        output = model.get_output_embeddings()
        if output is not None:
            assert output.weight.shape[0] == vocab + 5
            if config.tie_word_embeddings:
                assert output.weight is new.weight
            if getattr(output, "bias", None) is not None:
                assert output.bias.shape[0] == vocab + 5
        inputs = self.inputs_for(model_class, model.config)
        inputs["input_ids"] = inputs["input_ids"].clone()
        inputs["input_ids"].view(-1)[0] = vocab + 4  # a new token id works
        out = self.run(model, inputs)
        if output is not None:
            assert out.logits.shape[-1] == vocab + 5
        model.resize_token_embeddings(vocab - 3)
        assert model.get_input_embeddings().weight.shape[0] == vocab - 3 and model.config.vocab_size == vocab - 3
        assert torch.equal(model.get_input_embeddings().weight, old[: vocab - 3])
        model.resize_token_embeddings(vocab, pad_to_multiple_of=16)
        assert model.get_input_embeddings().weight.shape[0] % 16 == 0

    def test_head_masking(self, model_class: type[PreTrainedModel]) -> None:
        if not self.head_masking:
            pytest.skip("this family takes no head_mask")
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        layers, heads = self.num_attention_layers(config), config.num_attention_heads
        plain = self.run(model, inputs)
        ones = self.run(model, inputs, head_mask=torch.ones(layers, heads))
        for key in plain.keys():
            torch.testing.assert_close(plain[key], ones[key], atol=1e-5, rtol=0)
        mask = torch.ones(layers, heads)
        mask[0, 0] = 0.0
        mask[-1, -1] = 0.0
        out = self.run(model, inputs, head_mask=mask, output_attentions=True)
        assert out.attentions[0][:, 0].abs().sum() == 0 and out.attentions[-1][:, -1].abs().sum() == 0
        assert out.attentions[0][:, 1:].abs().sum() > 0
        changed = self.run(model, inputs, head_mask=mask)
        main = next(iter(self.expected_output_shapes(model_class, config, inputs)))
        assert not torch.allclose(changed[main], plain[main])
        one_dim = self.run(model, inputs, head_mask=torch.ones(heads))
        torch.testing.assert_close(one_dim[main], plain[main], atol=1e-5, rtol=0)

    def test_prune_heads(self, model_class: type[PreTrainedModel], tmp_path: Path) -> None:
        if not self.pruning:
            pytest.skip("this family does not prune heads")
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        heads = config.num_attention_heads
        before = model.num_parameters()
        model.prune_heads({0: [0, heads - 1]})
        model.prune_heads({0: [0], 1: [1]})  # head 0 of layer 0 is already gone: ignored
        assert model.config.pruned_heads == {0: [0, heads - 1], 1: [1]}
        assert model.num_parameters() < before
        out = self.run(model, inputs, output_attentions=True)
        assert out.attentions[0].shape[1] == heads - 2 and out.attentions[1].shape[1] == heads - 1
        # the pruned shape survives save/load: the config records it and the model is built pruned
        model.save_pretrained(tmp_path)
        loaded, report = model_class.from_pretrained(tmp_path, output_loading_info=True)
        assert report.verdict == "complete", report
        assert_same_outputs(out, self.run(loaded, inputs, output_attentions=True))


def _saved_keys(folder: Path) -> list[str]:
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as handle:
        return list(handle.keys())


class TextEncoderTesterMixin(ModelTesterMixin):
    """Defaults for BERT-like text encoders with the standard heads (masked LM, sequence / token
    classification, question answering, multiple choice). Subclasses give ``all_model_classes`` and
    ``get_config``; set ``uses_token_type_ids`` and ``has_pooler`` to match the family."""

    batch_size: ClassVar[int] = 3
    seq_length: ClassVar[int] = 7
    num_choices: ClassVar[int] = 2
    uses_token_type_ids: ClassVar[bool] = True
    head_masking = True
    pruning = True
    resize_embeddings = True

    @staticmethod
    def task(model_class: type[PreTrainedModel]) -> str:
        name = model_class.__name__
        for task in ("MaskedLM", "SequenceClassification", "TokenClassification", "QuestionAnswering",
                     "MultipleChoice"):
            if name.endswith("For" + task):
                return task
        return "base"

    def get_inputs(self, model_class: type[PreTrainedModel], config: PretrainedConfig, with_labels: bool = False
                   ) -> dict[str, Any]:
        g = torch.Generator().manual_seed(7)
        task = self.task(model_class)
        shape = (self.batch_size, self.num_choices, self.seq_length) if task == "MultipleChoice" else (
            self.batch_size, self.seq_length)
        ids = torch.randint(1, config.vocab_size, shape, generator=g)
        mask = torch.ones(shape, dtype=torch.long)
        mask[..., 1, -2:] = 0  # one padded row: masks are exercised everywhere
        ids = ids.masked_fill(mask == 0, config.pad_token_id or 0)
        inputs: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if self.uses_token_type_ids:
            inputs["token_type_ids"] = (torch.arange(self.seq_length) >= self.seq_length // 2).long().expand(shape)
        if with_labels:
            batch = self.batch_size
            if task == "MaskedLM":
                inputs["labels"] = torch.randint(0, config.vocab_size, shape, generator=g).masked_fill(mask == 0, -100)
            elif task == "SequenceClassification":
                inputs["labels"] = torch.randint(0, config.num_labels, (batch,), generator=g)
            elif task == "TokenClassification":
                inputs["labels"] = torch.randint(0, config.num_labels, shape, generator=g).masked_fill(mask == 0, -100)
            elif task == "QuestionAnswering":
                inputs["start_positions"] = torch.randint(0, self.seq_length, (batch,), generator=g)
                inputs["end_positions"] = torch.randint(0, self.seq_length, (batch,), generator=g)
            elif task == "MultipleChoice":
                inputs["labels"] = torch.randint(0, self.num_choices, (batch,), generator=g)
        return inputs

    def expected_output_shapes(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                               inputs: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        b, s, h = self.batch_size, self.seq_length, config.hidden_size
        task = self.task(model_class)
        return {
            "base": {"last_hidden_state": (b, s, h)},
            "MaskedLM": {"logits": (b, s, config.vocab_size)},
            "SequenceClassification": {"logits": (b, config.num_labels)},
            "TokenClassification": {"logits": (b, s, config.num_labels)},
            "QuestionAnswering": {"start_logits": (b, s), "end_logits": (b, s)},
            "MultipleChoice": {"logits": (b, self.num_choices)},
        }[task]

    def _rows(self, model_class: type[PreTrainedModel]) -> int:
        return self.batch_size * (self.num_choices if self.task(model_class) == "MultipleChoice" else 1)

    def hidden_state_shape(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                           inputs: dict[str, Any]) -> tuple[int, ...]:
        return (self._rows(model_class), self.seq_length, config.hidden_size)

    def attention_shape(self, model_class: type[PreTrainedModel], config: PretrainedConfig,
                        inputs: dict[str, Any]) -> tuple[int, ...]:
        return (self._rows(model_class), config.num_attention_heads, self.seq_length, self.seq_length)

    def test_inputs_embeds_equal_input_ids(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        embeds = model.get_input_embeddings()(inputs["input_ids"]).detach()
        by_embeds = dict(inputs, inputs_embeds=embeds)
        del by_embeds["input_ids"]
        assert_same_outputs(self.run(model, inputs), self.run(model, by_embeds))
        with pytest.raises(ValueError, match="exactly one of input_ids or inputs_embeds"):
            self.run(model, dict(inputs, inputs_embeds=embeds))

    def test_padding_does_not_change_real_tokens(self, model_class: type[PreTrainedModel]) -> None:
        """Row 1 is padded: its real tokens must come out as if the padding were not there."""
        if self.task(model_class) == "MultipleChoice":
            pytest.skip("rows are choices; covered by the other heads")
        config = self.get_config()
        model = self.make_model(model_class, config)
        inputs = self.inputs_for(model_class, config)
        real = int(inputs["attention_mask"][1].sum())
        alone = {k: v[1:2, :real] for k, v in inputs.items()}
        padded, unpadded = self.run(model, inputs), self.run(model, alone)
        for name in self.expected_output_shapes(model_class, config, inputs):
            full = padded[name][1:2]
            if full.dim() >= 2 and full.shape[1] == self.seq_length:  # per-token outputs
                full = full[:, :real]
            torch.testing.assert_close(full, unpadded[name], atol=1e-5, rtol=0)

    def test_too_long_input_names_the_limit(self, model_class: type[PreTrainedModel]) -> None:
        config = self.get_config()
        model = model_class(config).eval()
        too_long = torch.ones(1, config.max_position_embeddings + 1, dtype=torch.long)
        if self.task(model_class) == "MultipleChoice":
            too_long = too_long[:, None]
        with pytest.raises(ValueError, match="max_position_embeddings"):
            model(too_long)
