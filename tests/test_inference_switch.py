"""``model.optimize_for_inference()``: plain PyTorch forwards by default; the CPU fast paths behind one switch,
with the same numbers (up to float rounding), the same weights, and never in training, tracing or under hooks."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch
from common.tolerance import assert_close_kernels, assert_same_weights
from torch import nn
from torch.nn import functional as F

from modelyard import (
    BertConfig,
    BertForMaskedLM,
    BertModel,
    DistilBertConfig,
    DistilBertModel,
    ResNetConfig,
    ResNetModel,
    ViTConfig,
    ViTModel,
    Wav2Vec2Config,
    Wav2Vec2Model,
)
from modelyard.layers import inference, onednn
from modelyard.layers.activations import GELUTanh, get_activation

TINY_BERT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)


def _bert(seq: int) -> tuple[nn.Module, dict]:
    ids = torch.arange(5, 5 + 2 * seq).view(2, seq)
    mask = torch.ones(2, seq, dtype=torch.long)
    mask[1, seq // 2:] = 0
    return BertModel(BertConfig(**TINY_BERT)), {"input_ids": ids, "attention_mask": mask}


def _distilbert(seq: int) -> tuple[nn.Module, dict]:
    config = DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37)
    return DistilBertModel(config), {"input_ids": torch.arange(5, 5 + 2 * seq).view(2, seq)}


def _vit(seq: int) -> tuple[nn.Module, dict]:
    config = ViTConfig(image_size=8, patch_size=4, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=37)
    return ViTModel(config), {"pixel_values": torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))}


def _wav2vec2(seq: int) -> tuple[nn.Module, dict]:
    config = Wav2Vec2Config(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                            conv_dim=(16, 16), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=8,
                            num_conv_pos_embedding_groups=4)
    return Wav2Vec2Model(config), {"input_values": torch.randn(2, 400, generator=torch.Generator().manual_seed(1))}


def _resnet(seq: int) -> tuple[nn.Module, dict]:
    config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic")
    return ResNetModel(config), {"pixel_values": torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))}


BUILDERS = [_bert, _distilbert, _vit, _wav2vec2, _resnet]
IDS = ["bert", "distilbert", "vit", "wav2vec2", "resnet"]


@pytest.fixture(autouse=True)
def _no_packing_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether packing wins is measured on the machine; tests pin it (off here, on where a test asks)."""
    monkeypatch.setattr(inference, "packing_wins", lambda *shape, **options: False)


def _pack_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    if not onednn.available():
        pytest.skip("this PyTorch build has no oneDNN")
    monkeypatch.setattr(inference, "packing_wins", lambda *shape, **options: True)


def _main(out: object) -> torch.Tensor:
    return out.last_hidden_state  # type: ignore[attr-defined]


@pytest.mark.parametrize("packed", [False, True], ids=["measured-rows", "packed"])
@pytest.mark.parametrize("seq", [4, 16])
@pytest.mark.parametrize("build", BUILDERS, ids=IDS)
def test_switched_on_gives_the_same_numbers_and_weights(build, seq: int, packed: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if packed:
        _pack_everything(monkeypatch)
    torch.manual_seed(0)
    model, inputs = build(seq)
    model.eval()
    plain_state = copy.deepcopy(model.state_dict())
    with torch.inference_mode():
        plain = _main(model(**inputs)).clone()
    assert not model.is_optimized_for_inference
    assert model.optimize_for_inference() is model and model.is_optimized_for_inference
    assert_same_weights(model.state_dict(), plain_state)  # same keys, same tensors
    for context in (torch.inference_mode, torch.no_grad):
        with context():
            assert_close_kernels(_main(model(**inputs)), plain, depth=4)
    if packed and any(type(m) is nn.Linear for m in copy.deepcopy(model).optimize_for_inference(False).modules()):
        assert any(type(m) is onednn.PackedLinear for m in model.modules())
    model.optimize_for_inference(False)
    assert not model.is_optimized_for_inference
    assert all(type(m) not in (inference.FewRowLinear, onednn.PackedLinear) for m in model.modules())
    assert all("_packed" not in m.__dict__ for m in model.modules())


def test_the_switch_changes_classes_only_where_the_family_says(tmp_path: Path) -> None:
    model = BertForMaskedLM(BertConfig(**TINY_BERT)).optimize_for_inference()
    kinds = {name: type(m).__name__ for name, m in model.named_modules()}
    assert kinds["bert.encoder.layer.0.intermediate.dense"] == "FewRowLinear"
    assert kinds["bert.encoder.layer.0.intermediate.intermediate_act_fn"] == "InPlaceGELU"
    assert kinds["cls.predictions.transform.transform_act_fn"] == "InPlaceGELU"
    resnet = _resnet(4)[0].optimize_for_inference()
    assert type(resnet.encoder.stages[0].layers[0]).__name__ == "_FastResNetBasicLayer"  # the family's own block
    resnet.optimize_for_inference(False)
    assert type(resnet.encoder.stages[0].layers[0]).__name__ == "ResNetBasicLayer"
    # saving an optimized model writes the same checkpoint; loading gives a plain model
    model.save_pretrained(tmp_path)
    loaded = BertForMaskedLM.from_pretrained(tmp_path)
    assert not loaded.is_optimized_for_inference
    assert_same_weights(loaded, model)
    # deep copies keep working on their own modules
    twin = copy.deepcopy(model)
    owner = twin.bert.encoder.layer[0].intermediate
    assert owner.intermediate_act_fn._owner is owner


@pytest.mark.parametrize("build", BUILDERS, ids=IDS)
def test_training_and_autograd_take_the_plain_path(build) -> None:
    torch.manual_seed(0)
    model, inputs = build(4)
    model.optimize_for_inference().train()
    out = _main(model(**inputs))
    assert out.requires_grad
    out.float().pow(2).mean().backward()
    assert any(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    "build, producer",
    [
        (_bert, lambda m: m.encoder.layer[0].intermediate.dense),  # output overwritten by GELU in place
        (_distilbert, lambda m: m.transformer.layer[0].ffn.lin1),
        (_vit, lambda m: m.encoder.layer[0].intermediate.dense),
        (_resnet, lambda m: m.embedder.embedder.normalization),  # overwritten by ReLU in place
        (_resnet, lambda m: m.encoder.stages[0].layers[0].layer),  # overwritten by the residual add in place
    ],
    ids=["bert", "distilbert", "vit", "resnet-relu", "resnet-residual"],
)
def test_a_tensor_captured_by_a_hook_is_not_overwritten(build, producer) -> None:
    torch.manual_seed(0)
    model, inputs = build(4)
    model.eval().optimize_for_inference()
    captured: list[tuple[torch.Tensor, torch.Tensor]] = []
    producer(model).register_forward_hook(lambda module, args, output: captured.append((output, output.clone())))
    with torch.no_grad():
        model(**inputs)
    assert len(captured) == 1
    kept, copy_ = captured[0]
    assert torch.equal(kept, copy_), "the hooked module's output was overwritten after the hook ran"


def test_a_global_forward_hook_turns_overwriting_off() -> None:
    torch.manual_seed(0)
    model, inputs = _bert(4)
    model.eval().optimize_for_inference()
    captured: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def keep(module: nn.Module, args: tuple, output: object) -> None:
        if isinstance(output, torch.Tensor):
            captured.setdefault(id(module), (output, output.clone()))

    handle = nn.modules.module.register_module_forward_hook(keep)
    try:
        with torch.no_grad():
            model(**inputs)
    finally:
        handle.remove()
    assert captured and all(torch.equal(kept, copy_) for kept, copy_ in captured.values())


def test_hooks_on_an_activation_still_fire() -> None:
    model = BertModel(BertConfig(**TINY_BERT)).eval().optimize_for_inference()
    seen: list[tuple[int, ...]] = []
    model.encoder.layer[0].intermediate.intermediate_act_fn.register_forward_hook(
        lambda module, args, output: seen.append(tuple(output.shape))
    )
    with torch.no_grad():
        model(input_ids=torch.tensor([[5, 6, 7]]))
    assert seen == [(1, 3, 37)]


@pytest.mark.parametrize("name", ["gelu", "gelu_new", "relu", "silu", "tanh"])
def test_inplace_activations_equal_the_plain_ones_and_overwrite_only_when_allowed(name: str) -> None:
    owner = nn.Module()
    owner.act = get_activation(name)
    plain_class = type(owner.act)
    inference.optimize(owner, ["act"])
    assert type(owner.act) is not plain_class and isinstance(owner.act, plain_class)
    x = torch.randn(4, 7, generator=torch.Generator().manual_seed(0))
    expected = plain_class()(x.clone()) if plain_class is not GELUTanh else F.gelu(x, approximate="tanh")
    with torch.no_grad():
        buffer = x.clone()
        got = owner.act(buffer)
    assert got.data_ptr() == buffer.data_ptr()  # written into its input: no new allocation
    # the same elementwise function; vectorised and scalar code paths may differ in the last bit
    torch.testing.assert_close(got, expected, rtol=4 * torch.finfo(torch.float32).eps, atol=1e-7)
    kept = x.clone().requires_grad_()
    out = owner.act(kept * 1.0)  # autograd on: out of place and differentiable
    out.sum().backward()
    assert kept.grad is not None
    inference.restore(owner)
    assert type(owner.act) is plain_class


def test_few_row_projection_uses_the_measured_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = nn.Linear(64, 48)
    inference.optimize(layer, [])
    assert type(layer) is inference.FewRowLinear
    assert layer._rows == inference.transposed_rows(48, 64, torch.get_num_threads())
    assert isinstance(layer._rows, frozenset)
    layer._rows = frozenset({1, 16})  # pin the measured set, so the test does not depend on this CPU's timings
    calls: list[tuple[int, ...]] = []
    original = torch.addmm
    monkeypatch.setattr(torch, "addmm", lambda *a, **k: calls.append(tuple(a[2].shape)) or original(*a, **k))
    with torch.no_grad():
        for rows in (16, 7, 64, 1):
            x = torch.randn(rows, 64)
            assert_close_kernels(layer(x), F.linear(x, layer.weight, layer.bias), width=64)
    # Only the 16-row and the 1-row calls took the transposed form, the single row padded to two columns.
    assert calls == [(64, 16), (64, 2)]
    x = torch.randn(1, 16, 64)
    assert layer(x).shape == (1, 16, 48)  # leading dimensions kept


def test_tracing_and_exporting_an_optimized_model() -> None:
    model = BertModel(BertConfig(**TINY_BERT)).eval().optimize_for_inference()
    ids = torch.arange(5, 21).view(1, 16)
    with torch.no_grad():
        expected = model(ids).last_hidden_state
    traced = torch.jit.trace(model, (ids,), strict=False)
    assert_close_kernels(traced(ids)["last_hidden_state"], expected, depth=4)
    program = torch.export.export(model, (ids,))
    assert_close_kernels(program.module()(ids).last_hidden_state, expected, depth=4)


def test_conv1d_weights_are_relaid_with_the_same_values_ties_and_checkpoints(monkeypatch: pytest.MonkeyPatch,
                                                                          tmp_path: Path) -> None:
    from modelyard import GPT2Config, GPT2LMHeadModel
    from modelyard.layers.conv1d import Conv1D

    # Pin the measurement (it depends on this CPU): the transposed product wins at 1, 2 and 8 rows everywhere.
    monkeypatch.setattr(inference, "transposed_rows", lambda *shape, **options: frozenset({1, 2, 8}))
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=97, n_embd=32, n_layer=2, n_head=4, n_positions=64)).eval()
    ids = torch.arange(3, 19).view(2, 8)
    plain_state = copy.deepcopy(model.state_dict())
    with torch.inference_mode():
        plain = model(ids).logits.clone()
        plain_tokens = model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0)
        plain_one = model.generate(ids[:1], max_new_tokens=6, do_sample=False, pad_token_id=0)
    model.optimize_for_inference()
    attention = model.transformer.h[0].attn.c_attn
    assert type(attention) is inference.FewRowConv1D and attention.weight.shape == (32, 96)
    assert attention.weight.t().is_contiguous()  # column-major, same shape
    assert type(model.lm_head) is inference.FewRowLinear and model.lm_head.weight.is_contiguous()
    assert model.lm_head.weight is model.transformer.wte.weight  # still tied
    assert_same_weights(model.state_dict(), plain_state)
    with torch.inference_mode():
        assert_close_kernels(model(ids).logits, plain, depth=4)
        # Decoding steps of 2 rows (batch 2) and of 1 row (batch 1) take the transposed product.
        assert torch.equal(model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0), plain_tokens)
        assert torch.equal(model.generate(ids[:1], max_new_tokens=6, do_sample=False, pad_token_id=0), plain_one)
    model.save_pretrained(tmp_path)  # a checkpoint holds contiguous tensors, equal to the plain ones
    assert_same_weights(GPT2LMHeadModel.from_pretrained(tmp_path), model)
    model.optimize_for_inference(False)
    assert type(attention) is Conv1D and attention.weight.is_contiguous()
    assert not model.is_optimized_for_inference
    assert_same_weights(model.state_dict(), plain_state)


def test_a_conv1d_the_measurement_does_not_favour_keeps_its_class_and_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard.layers.conv1d import Conv1D

    monkeypatch.setattr(inference, "transposed_rows", lambda *shape, **options: frozenset())
    layer = Conv1D(8, 4)
    inference.optimize(layer, [])
    assert type(layer) is Conv1D and layer.weight.is_contiguous()


def test_the_measurement_is_cached_per_shape_and_kind() -> None:
    inference.transposed_rows.cache_clear()
    first = inference.transposed_rows(40, 24, 1)
    assert isinstance(first, frozenset) and first <= set(range(1, 65))
    assert inference.transposed_rows(40, 24, 1) is first
    assert inference.transposed_rows.cache_info().hits == 1
    assert isinstance(inference.transposed_rows(40, 24, 1, stored_transposed=True), frozenset)
    assert inference.transposed_rows.cache_info().misses == 2


def test_the_transposed_product_equals_linear_for_any_row_count() -> None:
    generator = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(48, 64, generator=generator), torch.randn(48, generator=generator)
    for rows in (1, 2, 3, 9):
        x = torch.randn(rows, 64, generator=generator)
        out = inference.transposed_product(x, weight, bias)
        assert out.shape == (rows, 48) and out.is_contiguous()
        assert_close_kernels(out, F.linear(x, weight, bias), width=64)
        assert_close_kernels(inference.transposed_product(x, weight, None), F.linear(x, weight), width=64)


def test_relaying_a_memory_mapped_weight_gives_its_file_pages_back(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    from modelyard import GPT2Config, GPT2LMHeadModel
    from modelyard.layers import memory_release

    monkeypatch.setattr(inference, "transposed_rows", lambda *shape, **options: frozenset({1}))
    # Blocks of a few rows, so each weight is copied in several pieces (the last one short).
    monkeypatch.setattr(inference, "_RELAYOUT_BLOCK_BYTES", 7 * 4096)
    released: list[tuple[int, bool]] = []
    real_release = memory_release.release_file_pages

    def recording(tensor: torch.Tensor, mappings: list[tuple[int, int]]) -> bool:
        answer = real_release(tensor, mappings)
        released.append((tensor.shape[0], answer))
        return answer

    monkeypatch.setattr(inference, "release_file_pages", recording)
    GPT2LMHeadModel(GPT2Config(vocab_size=100, n_embd=1024, n_layer=1, n_head=4, n_positions=16)).save_pretrained(tmp_path)
    model = GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    c_fc = model.transformer.h[0].mlp.c_fc  # weight (1024, 4096): 16 KiB rows, one row per block
    expected = c_fc.weight.detach().clone()
    mapped = c_fc.weight.data
    conv_rows = sum(m.weight.shape[0] for m in model.modules() if type(m).__name__ == "Conv1D")
    model.optimize_for_inference()
    assert c_fc.weight.t().is_contiguous() and torch.equal(c_fc.weight, expected)
    assert sum(rows for rows, _ in released) == conv_rows
    if sys.platform.startswith("linux") and memory_release._madvise() is not None:
        assert any(answer for _, answer in released)  # the checkpoint's pages were under a file mapping
    assert torch.equal(mapped, expected)  # a hint only: the released pages read back from the file unchanged


def test_anonymous_memory_is_never_paged_out() -> None:
    from modelyard.layers import memory_release

    weight = torch.randn(64, 4096)
    assert not memory_release.release_file_pages(weight, memory_release.file_mappings())
    assert isinstance(memory_release.trim_heap(), bool)


# ---------------------------------------------------------------------------------------------- packed weights
def test_a_packed_linear_follows_its_parameter_and_keeps_the_state_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    _pack_everything(monkeypatch)
    torch.manual_seed(0)
    layer = nn.Linear(64, 48)
    plain_state = copy.deepcopy(layer.state_dict())
    inference.optimize(layer, [])
    assert type(layer) is onednn.PackedLinear
    assert_same_weights(layer.state_dict(), plain_state)  # the packed copy is not a parameter or buffer
    assert list(layer.state_dict()) == ["weight", "bias"]
    x = torch.randn(3, 5, 64)
    with torch.no_grad():
        assert_close_kernels(layer(x), F.linear(x, layer.weight, layer.bias), width=64)
        first = layer._packed
        layer(x)
        assert layer._packed is first  # packed once, reused
        # A new state (load_state_dict writes in place: the parameter's version moves) is packed again.
        layer.load_state_dict({"weight": torch.randn(48, 64), "bias": torch.randn(48)})
        assert_close_kernels(layer(x), F.linear(x, layer.weight, layer.bias), width=64)
        assert layer._packed is not first
        layer.weight.mul_(2)  # any in-place write
        assert_close_kernels(layer(x), F.linear(x, layer.weight, layer.bias), width=64)
        layer.weight = nn.Parameter(torch.randn(48, 64))  # a new tensor
        assert_close_kernels(layer(x), F.linear(x, layer.weight, layer.bias), width=64)
    # training goes through the parameter, and an optimizer step is seen by the next inference call
    out = layer(x)
    assert out.requires_grad
    out.pow(2).mean().backward()
    assert layer.weight.grad is not None
    torch.optim.SGD(layer.parameters(), lr=0.5).step()
    with torch.no_grad():
        assert_close_kernels(layer(x), F.linear(x, layer.weight, layer.bias), width=64)
    # other dtypes take the plain path
    double = copy.deepcopy(layer).double()
    with torch.no_grad():
        assert double(x.double()).dtype == torch.float64


def test_a_packed_model_copies_pickles_traces_and_restores(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pickle

    _pack_everything(monkeypatch)
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY_BERT)).eval()
    ids = torch.arange(5, 21).view(1, 16)
    with torch.no_grad():
        expected = model(ids).last_hidden_state
    model.optimize_for_inference()
    dense = model.encoder.layer[0].intermediate.dense
    assert type(dense) is onednn.PackedLinear and dense._packed is not None
    twin = copy.deepcopy(model)
    assert "_packed" not in twin.encoder.layer[0].intermediate.dense.__dict__  # packs its own on first use
    revived = pickle.loads(pickle.dumps(model))
    with torch.no_grad():
        for copy_ in (model, twin, revived):
            assert_close_kernels(copy_(ids).last_hidden_state, expected, depth=4)
    assert twin.encoder.layer[0].intermediate.dense._packed is not dense._packed
    traced = torch.jit.trace(model, (ids,), strict=False)  # tracing records the plain product
    assert_close_kernels(traced(ids)["last_hidden_state"], expected, depth=4)
    model.save_pretrained(tmp_path)
    assert_same_weights(BertModel.from_pretrained(tmp_path), model)
    model.optimize_for_inference(False)
    assert type(dense) is nn.Linear and "_packed" not in dense.__dict__


def test_packed_gpt2_generates_the_plain_tokens_with_its_ties(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from modelyard import GPT2Config, GPT2LMHeadModel
    from modelyard.layers.conv1d import Conv1D

    _pack_everything(monkeypatch)
    torch.manual_seed(0)
    GPT2LMHeadModel(GPT2Config(vocab_size=97, n_embd=32, n_layer=2, n_head=4, n_positions=64)).save_pretrained(tmp_path)
    model = GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    ids = torch.arange(3, 19).view(2, 8)
    plain_state = copy.deepcopy(model.state_dict())
    with torch.inference_mode():
        plain = model(ids).logits.clone()
        plain_tokens = model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0)
    model.optimize_for_inference()
    attention = model.transformer.h[0].attn.c_attn
    assert type(attention) is onednn.PackedConv1D and attention.weight.is_contiguous()  # not re-laid
    assert type(model.lm_head) is onednn.PackedLinear
    assert model.lm_head.weight is model.transformer.wte.weight  # still tied
    assert_same_weights(model.state_dict(), plain_state)  # pages given back read again from the file
    with torch.inference_mode():
        assert_close_kernels(model(ids).logits, plain, depth=4)
        assert torch.equal(model.generate(ids, max_new_tokens=6, do_sample=False, pad_token_id=0), plain_tokens)
    model.optimize_for_inference(False)
    assert type(attention) is Conv1D and not model.is_optimized_for_inference


def test_packing_a_memory_mapped_weight_gives_its_file_pages_back(monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    from modelyard import GPT2Config, GPT2LMHeadModel
    from modelyard.layers import memory_release

    _pack_everything(monkeypatch)
    released: list[bool] = []
    real_release = memory_release.release_file_pages
    monkeypatch.setattr(onednn, "release_file_pages",
                        lambda tensor, mappings: released.append(real_release(tensor, mappings)) or released[-1])
    GPT2LMHeadModel(GPT2Config(vocab_size=100, n_embd=1024, n_layer=1, n_head=4, n_positions=16)).save_pretrained(tmp_path)
    model = GPT2LMHeadModel.from_pretrained(tmp_path).eval()
    c_fc = model.transformer.h[0].mlp.c_fc
    expected = c_fc.weight.detach().clone()
    model.optimize_for_inference()
    projections = sum(type(m).__name__ in ("Conv1D", "Linear", "PackedConv1D", "PackedLinear") for m in model.modules())
    assert len(released) == projections
    if sys.platform.startswith("linux") and memory_release._madvise() is not None:
        assert any(released)  # the checkpoint's pages were under a file mapping
    assert torch.equal(c_fc.weight, expected)  # a hint only: the pages read back from the file unchanged


def test_without_onednn_nothing_is_packed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real packing_wins
    monkeypatch.setattr(onednn, "available", lambda: False)
    inference.packing_wins.cache_clear()
    layer = nn.Linear(64, 48)
    inference.optimize(layer, [])
    assert type(layer) is inference.FewRowLinear
    assert not inference.packing_wins(48, 64, 1)


def test_the_packing_measurement_answers_per_shape_and_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    if not onednn.available():
        pytest.skip("this PyTorch build has no oneDNN")
    inference.packing_wins.cache_clear()
    first = inference.packing_wins(40, 24, 1)
    assert isinstance(first, bool)
    assert inference.packing_wins(40, 24, 1) is first
    assert inference.packing_wins.cache_info().hits == 1
    assert isinstance(inference.packing_wins(40, 24, 1, stored_transposed=True), bool)
    assert inference.packing_wins.cache_info().misses == 2


def test_an_encoder_is_judged_at_prompt_rows_and_a_generator_also_at_one_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule, not the timing: ratios as a CPU gives them (packing slower for one and two rows, faster from
    eight). An encoder, which never computes single rows, packs; a model that decodes one row per step does not."""
    monkeypatch.undo()
    monkeypatch.setattr(onednn, "available", lambda: True)
    ratio_at = {1: 1.5, 2: 1.6, 8: 0.6, 32: 0.7, 256: 0.85}
    asked: list[tuple[int, ...]] = []

    def measured(out_features: int, in_features: int, *, stored_transposed: bool, rows: tuple[int, ...]) -> list[float]:
        asked.append(rows)
        return [ratio_at[r] for r in rows]

    monkeypatch.setattr(inference, "_measure_packing", measured)
    inference.packing_wins.cache_clear()
    try:
        assert inference.packing_wins(48, 64, 1, decodes=False)
        assert not inference.packing_wins(48, 64, 1, decodes=True)
        assert asked == [(8, 32, 256), (1, 2, 8, 32, 256)]
        ratio_at[1] = 1.0  # one row no longer slower: a generating model packs too
        inference.packing_wins.cache_clear()
        assert inference.packing_wins(48, 64, 1, decodes=True)
    finally:
        inference.packing_wins.cache_clear()  # never leave the invented ratios' answers behind


@pytest.mark.parametrize("generates", [False, True], ids=["encoder", "causal-lm"])
def test_the_switch_tells_the_measurement_whether_the_model_generates(generates: bool,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard import GPT2Config, GPT2LMHeadModel, GPT2Model

    seen: set[bool] = set()

    def wins(*shape: int, stored_transposed: bool = False, decodes: bool = True) -> bool:
        seen.add(decodes)
        return False

    monkeypatch.setattr(inference, "packing_wins", wins)
    config = GPT2Config(vocab_size=97, n_embd=32, n_layer=1, n_head=4, n_positions=16)
    (GPT2LMHeadModel if generates else GPT2Model)(config).eval().optimize_for_inference()
    assert seen == {generates}


def test_the_packed_product_equals_linear() -> None:
    if not onednn.available():
        pytest.skip("this PyTorch build has no oneDNN")
    generator = torch.Generator().manual_seed(0)
    weight, bias = torch.randn(48, 64, generator=generator), torch.randn(48, generator=generator)
    packed = onednn.pack(weight)
    for shape in ((1, 64), (9, 64), (2, 3, 64), (300, 64)):
        x = torch.randn(*shape, generator=generator)
        assert_close_kernels(onednn.packed_product(x, packed, bias), F.linear(x, weight, bias), width=64)
        assert_close_kernels(onednn.packed_product(x, packed, None), F.linear(x, weight), width=64)
    x = torch.randn(64, 6, generator=generator).t()  # not contiguous
    assert_close_kernels(onednn.packed_product(x, packed, bias), F.linear(x, weight, bias), width=64)


def test_weights_are_packed_largest_first_after_every_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelyard import GPT2Config, GPT2LMHeadModel

    _pack_everything(monkeypatch)
    events: list[str] = []
    monkeypatch.setattr(inference, "packing_wins", lambda *shape, **options: events.append("measure") or True)
    real_pack = inference._pack
    monkeypatch.setattr(inference, "_pack", lambda module, cls: events.append(
        f"pack {inference._weight(module).numel()}") or real_pack(module, cls))
    model = GPT2LMHeadModel(GPT2Config(vocab_size=500, n_embd=32, n_layer=2, n_head=4, n_positions=64)).eval()
    model.optimize_for_inference()
    packed_sizes = [int(event.split()[1]) for event in events if event.startswith("pack")]
    assert events.index(f"pack {packed_sizes[0]}") > max(i for i, e in enumerate(events) if e == "measure")
    assert packed_sizes[0] == 500 * 32  # the vocabulary projection first
    assert packed_sizes == sorted(packed_sizes, reverse=True) and len(packed_sizes) == 2 * 4 + 1
