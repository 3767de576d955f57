"""Everyday idioms of the reference library's users, run on modelyard (issue: conformance).

Loading options the reference takes, its private flags, exporting and compiling, seeds of trouble found by
reading (threads, hooks, tokens), each written the way such code is written for the reference.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import torch
from common.tolerance import assert_close_kernels, assert_same_weights
from torch import nn

import modelyard
from modelyard import AutoModel, BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel
from modelyard.errors import ConfigurationError, UnexpectedArgumentError
from modelyard.hub import settings

TINY_BERT = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                 max_position_embeddings=16)
IDS = torch.tensor([[2, 5, 7, 9, 3, 0, 0], [2, 11, 12, 13, 14, 15, 3]])
MASK = (IDS != 0).long()


@pytest.fixture
def saved_bert(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(**TINY_BERT)).save_pretrained(tmp_path / "bert")
    return tmp_path / "bert"


# ------------------------------------------------------------------------------------ loading options
def test_the_reference_private_flags_are_accepted(saved_bert: Path) -> None:
    """The reference's Auto classes call a remote class's from_pretrained with these."""
    model = BertForSequenceClassification.from_pretrained(
        saved_bert, _from_auto=True, _commit_hash=None, adapter_kwargs={}, trust_remote_code=True,
        _from_pipeline="text-classification", low_cpu_mem_usage=True, resume_download=None,
    )
    assert isinstance(model, BertForSequenceClassification)
    with pytest.raises(UnexpectedArgumentError, match="adapters"):
        BertForSequenceClassification.from_pretrained(saved_bert, adapter_kwargs={"adapter_name": "x"})
    with pytest.raises(UnexpectedArgumentError, match="quantised loading is not supported"):
        BertForSequenceClassification.from_pretrained(saved_bert, quantization_config={"bits": 4})
    # a typo still fails, with a suggestion among the real option names
    with pytest.raises(UnexpectedArgumentError, match="did you mean 'low_cpu_mem_usage'"):
        BertForSequenceClassification.from_pretrained(saved_bert, low_cpu_mem_usag=True)


def test_dtype_options_both_names(saved_bert: Path) -> None:
    for options in ({"torch_dtype": torch.bfloat16}, {"dtype": "bfloat16"}, {"torch_dtype": "bfloat16"}):
        model = AutoModel.from_pretrained(saved_bert, **options)
        assert model.dtype == torch.bfloat16 and model.config.torch_dtype is torch.bfloat16


def test_device_map(saved_bert: Path) -> None:
    for device_map in ("cpu", {"": "cpu"}, torch.device("cpu"), {"bert": "cpu", "classifier": "cpu"}):
        assert BertForSequenceClassification.from_pretrained(saved_bert, device_map=device_map).device.type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert BertForSequenceClassification.from_pretrained(saved_bert, device_map="auto").device.type == expected
    if not torch.cuda.is_available():  # a split map is loaded (tests/test_device_map_offload.py), on devices there are
        with pytest.raises(ConfigurationError, match="no CUDA device"):
            BertForSequenceClassification.from_pretrained(saved_bert, device_map={"bert": "cpu", "classifier": "cuda:0"})
    with pytest.raises(ConfigurationError, match="not both"):
        BertForSequenceClassification.from_pretrained(saved_bert, device_map="cpu", device="cpu")


def test_attn_implementation_eager_and_sdpa_agree(saved_bert: Path) -> None:
    sdpa = BertModel.from_pretrained(saved_bert, attn_implementation="sdpa")
    eager = BertModel.from_pretrained(saved_bert, attn_implementation="eager")
    assert eager.config._attn_implementation == "eager"
    calls: list[str] = []
    original = torch.nn.functional.scaled_dot_product_attention

    def spy(*args, **kwargs):
        calls.append("sdpa")
        return original(*args, **kwargs)

    torch.nn.functional.scaled_dot_product_attention = spy
    try:
        with torch.no_grad():
            a = sdpa(IDS, attention_mask=MASK).last_hidden_state
            used_by_sdpa = len(calls)
            b = eager(IDS, attention_mask=MASK).last_hidden_state
    finally:
        torch.nn.functional.scaled_dot_product_attention = original
    assert used_by_sdpa == 2 and len(calls) == 2  # the eager model never called SDPA
    assert_close_kernels(b, a, depth=4)
    with pytest.raises(ConfigurationError, match="flash_attention_2"):
        BertModel.from_pretrained(saved_bert, attn_implementation="flash_attention_2")


def test_local_files_only_cache_dir_subfolder_force_download(tmp_path: Path, saved_bert: Path) -> None:
    import shutil

    shutil.copytree(saved_bert, tmp_path / "repo" / "sub")
    model = BertForSequenceClassification.from_pretrained(
        tmp_path / "repo", subfolder="sub", local_files_only=True, cache_dir=tmp_path / "cache", force_download=True
    )
    assert_same_weights(model, BertForSequenceClassification.from_pretrained(saved_bert))


def test_variant_files(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY_BERT))
    model.save_pretrained(tmp_path)
    model.half().save_pretrained(tmp_path, variant="fp16")
    assert {"model.safetensors", "model.fp16.safetensors"} <= {p.name for p in tmp_path.iterdir()}
    half = BertModel.from_pretrained(tmp_path, variant="fp16", dtype="auto")
    assert half.dtype == torch.float16 and BertModel.from_pretrained(tmp_path).dtype == torch.float32
    with pytest.raises(FileNotFoundError, match="variant 'int8'"):
        BertModel.from_pretrained(tmp_path, variant="int8")


def test_torchscript_flag_gives_tuples_and_untied_weights(tmp_path: Path) -> None:
    BertForMaskedLM(BertConfig(**TINY_BERT)).save_pretrained(tmp_path)
    model = BertForMaskedLM.from_pretrained(tmp_path, torchscript=True)
    assert isinstance(model(IDS), tuple)
    decoder, embeddings = model.cls.predictions.decoder.weight, model.bert.embeddings.word_embeddings.weight
    assert decoder is not embeddings and torch.equal(decoder, embeddings)
    traced = torch.jit.trace(model, (IDS,))
    assert_close_kernels(traced(IDS)[0], model(IDS)[0], depth=4)


def test_return_dict_false_and_to_tuple(saved_bert: Path) -> None:
    model = BertForSequenceClassification.from_pretrained(saved_bert)
    labels = torch.tensor([0, 1])
    out = model(IDS, attention_mask=MASK, labels=labels)
    as_tuple = model(IDS, attention_mask=MASK, labels=labels, return_dict=False)
    assert isinstance(as_tuple, tuple) and len(as_tuple) == len(out.to_tuple()) == 2
    loss, logits = as_tuple
    assert_close_kernels(logits, out.logits) and torch.testing.assert_close(loss, out.loss)


def test_config_round_trip_idioms(tmp_path: Path) -> None:
    config = BertConfig(**TINY_BERT)
    config.update({"hidden_dropout_prob": 0.3})
    assert config.to_dict()["hidden_dropout_prob"] == 0.3 and "hidden_dropout_prob" in config.to_diff_dict()
    again = BertConfig.from_dict(config.to_dict())
    assert again == config
    config.save_pretrained(tmp_path)
    config_dict, unused = BertConfig.get_config_dict(tmp_path, revision="main", num_labels=4)
    assert config_dict["hidden_dropout_prob"] == 0.3 and unused == {"num_labels": 4}


# ------------------------------------------------------------------------------------ export and compile
def test_jit_trace_with_strict_false() -> None:
    model = BertModel(BertConfig(**TINY_BERT)).eval()
    traced = torch.jit.trace(model, (IDS, MASK), strict=False)
    out = traced(IDS, MASK)
    assert isinstance(out, dict)
    assert_close_kernels(out["last_hidden_state"], model(IDS, attention_mask=MASK).last_hidden_state, depth=4)


def test_torch_export_of_bert_model() -> None:
    model = BertModel(BertConfig(**TINY_BERT)).eval()
    program = torch.export.export(model, (IDS,), {"attention_mask": MASK})
    for mask in (MASK, torch.ones_like(MASK)):  # the all-ones shortcut must not be baked in
        out = program.module()(IDS, attention_mask=mask)
        assert_close_kernels(out.last_hidden_state, model(IDS, attention_mask=mask).last_hidden_state, depth=4)


@pytest.mark.slow
def test_torch_compile_of_bert_model() -> None:
    model = BertModel(BertConfig(**TINY_BERT)).eval()
    compiled = torch.compile(model)
    with torch.no_grad():
        out = compiled(IDS, attention_mask=MASK)
        expected = model(IDS, attention_mask=MASK)
    assert type(out) is type(expected)
    assert_close_kernels(out.last_hidden_state, expected.last_hidden_state, depth=4)


# ------------------------------------------------------------------------------------ training helpers
def test_enable_input_require_grads_with_frozen_embeddings() -> None:
    model = BertModel(BertConfig(**TINY_BERT))
    model.get_input_embeddings().weight.requires_grad_(False)
    model.enable_input_require_grads()
    model.gradient_checkpointing_enable({"use_reentrant": True})  # the case that needs it
    model.train()
    model(IDS).last_hidden_state.sum().backward()
    assert model.encoder.layer[0].attention.self.query.weight.grad is not None
    model.disable_input_require_grads()
    assert "_require_grads_hook" not in model.__dict__


def test_save_on_other_processes_writes_nothing(tmp_path: Path) -> None:
    assert BertModel(BertConfig(**TINY_BERT)).save_pretrained(tmp_path, is_main_process=False) == []
    assert not any(tmp_path.iterdir())


def test_logging_module_like_the_reference(capsys: pytest.CaptureFixture[str]) -> None:
    log = modelyard.logging
    try:
        log.set_verbosity_info()
        assert log.get_verbosity() == log.INFO
        logging.getLogger("modelyard.modeling").info("visible at info")
        log.set_verbosity_error()
        logging.getLogger("modelyard.modeling").warning("hidden at error")
        err = capsys.readouterr().err
        assert "visible at info" in err and "hidden at error" not in err
        log.disable_progress_bar()
        assert not log.is_progress_bar_enabled()
        log.enable_progress_bar()
        assert log.is_progress_bar_enabled()
    finally:
        log.disable_default_handler()
        logging.getLogger("modelyard").setLevel(logging.NOTSET)
        log._progress_bars_enabled = None
    assert "logging" not in modelyard.__all__  # a star import never shadows the standard library's


# ------------------------------------------------------------------------------------ bugs found by reading
def test_eight_concurrent_loads_leave_torch_intact(saved_bert: Path) -> None:
    """Loads patch torch while building on the meta device; overlapping loads must not leave it patched."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def load() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                BertForSequenceClassification.from_pretrained(saved_bert)
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    # meanwhile this thread builds models the normal way: real, initialised weights
    built = [nn.Linear(4, 4) for _ in range(50)]
    for t in threads:
        t.join()
    assert not errors, errors
    assert all(layer.weight.device.type == "cpu" and layer.weight.abs().sum() > 0 for layer in built)
    fresh = nn.Linear(2, 2)
    assert fresh.weight.device.type == "cpu" and fresh.weight.abs().sum() > 0
    assert nn.init.normal_(torch.zeros(100)).abs().sum() > 0  # init functions are the originals again


def test_overlapping_loads_in_the_interleaving_that_broke_torch() -> None:
    """Thread A enters, B enters, A exits, B exits: the order that left torch patched for the process."""
    from modelyard.modeling import _parameters_on_meta

    steps = [threading.Event() for _ in range(4)]
    built_inside: dict[str, str] = {}

    def thread_a() -> None:
        with _parameters_on_meta():
            steps[0].set()
            steps[1].wait(5)
            built_inside["a"] = nn.Linear(2, 2).weight.device.type
        steps[2].set()

    def thread_b() -> None:
        steps[0].wait(5)
        with _parameters_on_meta():
            steps[1].set()
            steps[2].wait(5)
            built_inside["b"] = nn.Linear(2, 2).weight.device.type

    workers = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for worker in workers:
        worker.start()
    steps[1].wait(5)
    outside = nn.Linear(2, 2).weight.device.type  # built while B is inside: still a normal model here
    for worker in workers:
        worker.join()
    assert built_inside == {"a": "meta", "b": "meta"} and outside == "cpu"
    assert nn.Linear(2, 2).weight.device.type == "cpu"


def test_huggingface_host_is_matched_exactly() -> None:
    assert settings.is_huggingface_endpoint("https://huggingface.co")
    assert settings.is_huggingface_endpoint("https://hub-ci.huggingface.co")
    for url in ("https://evilhuggingface.co", "https://huggingface.co.evil.example", "http://127.0.0.1:8000"):
        assert not settings.is_huggingface_endpoint(url), url


def test_token_false_is_passed_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_stored")
    assert settings.get_token(False) is False  # huggingface_hub reads False as "send no token"
    assert settings.get_token(None) == "hf_stored" and settings.get_token("explicit") == "explicit"


def test_push_with_token_false_does_not_use_the_stored_token(hub_env) -> None:
    from modelyard.errors import HubAuthenticationError

    repo = hub_env.repo_id("token-false")
    with pytest.raises(HubAuthenticationError, match="401"):
        BertConfig(**TINY_BERT).push_to_hub(repo, token=False)
    assert not hub_env.api().repo_exists(repo)


def test_push_to_hub_positional_arguments_tags_and_working_dir(hub_env, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    repo = hub_env.repo_id("positional")
    monkeypatch.chdir(tmp_path)
    model = BertModel(BertConfig(**TINY_BERT))
    # the reference's positional order: repo_id, use_temp_dir, commit_message
    info = model.push_to_hub(repo, False, "first push", tags=["tiny", "test"])
    assert hub_env.api().list_repo_commits(repo)[0].title == "first push" and info.oid
    kept = tmp_path / repo.split("/")[1]
    assert (kept / "model.safetensors").is_file()  # use_temp_dir=False keeps the working folder
    from huggingface_hub import ModelCard

    card = ModelCard.load(hub_env.api().hf_hub_download(repo, "README.md"))
    assert {"tiny", "test"} <= set(card.data.tags)
    assert {"config.json", "model.safetensors", "README.md"} <= set(hub_env.api().list_repo_files(repo))


def test_old_format_pytorch_model_bin_loads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = BertModel(BertConfig(**TINY_BERT))
    model.config.save_pretrained(tmp_path)
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin", _use_new_zipfile_serialization=False)
    loaded = BertModel.from_pretrained(tmp_path)
    assert_same_weights(loaded, model)


def test_set_seed_makes_every_generator_repeat() -> None:
    import random

    import numpy as np

    from modelyard import set_seed

    def draw() -> tuple[float, float, torch.Tensor, torch.Tensor]:
        return random.random(), float(np.random.rand()), torch.rand(3), nn.Linear(2, 2).weight.detach().clone()

    set_seed(1234)
    first = draw()
    set_seed(1234)
    second = draw()
    assert first[:2] == second[:2] and torch.equal(first[2], second[2]) and torch.equal(first[3], second[3])
    set_seed(4321)
    assert draw()[0] != first[0]


def test_from_config_with_the_references_building_options() -> None:
    config = BertConfig(**TINY_BERT)
    model = BertModel._from_config(config, attn_implementation="eager", dtype=torch.float16)
    assert model.config._attn_implementation == "eager" and config._attn_implementation != "eager"  # a copy
    assert {p.dtype for p in model.parameters()} == {torch.float16}
    assert BertModel._from_config(config, torch_dtype="bfloat16").embeddings.word_embeddings.weight.dtype == torch.bfloat16
    assert not BertModel._is_stateful and not BertConfig.has_no_defaults_at_init and BertModel._can_set_attn_implementation()


def test_loading_inside_a_meta_device_context_is_refused(saved_bert: Path) -> None:
    from modelyard.errors import MetaDeviceContextError

    with torch.device("meta"), pytest.raises(RuntimeError, match="meta device context manager") as caught:
        BertModel.from_pretrained(saved_bert)
    assert isinstance(caught.value, MetaDeviceContextError)
    with torch.device("meta"):
        assert BertModel(BertConfig(**TINY_BERT)).embeddings.word_embeddings.weight.is_meta  # building one is fine


def test_mismatched_shapes_are_a_runtime_error_as_in_the_reference(saved_bert: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    from modelyard.errors import WeightsError, WeightShapeMismatchError

    for kind in (RuntimeError, WeightsError, WeightShapeMismatchError):  # the saved head has 2 labels
        with pytest.raises(kind, match="ignore_mismatched_sizes=True"):
            BertForSequenceClassification.from_pretrained(saved_bert, num_labels=42)
    with caplog.at_level(logging.WARNING, logger="modelyard"):
        model = BertForSequenceClassification.from_pretrained(saved_bert, num_labels=42, ignore_mismatched_sizes=True)
    assert model.classifier.out_features == 42
    assert "the shapes did not match (ignore_mismatched_sizes=True): classifier.bias (2,) -> (42,)" in caplog.text


def test_from_pretrained_without_files_takes_config_and_state_dict() -> None:
    config = BertConfig(**TINY_BERT)
    torch.manual_seed(0)
    source = BertForMaskedLM(config)
    model = BertForMaskedLM.from_pretrained(pretrained_model_name_or_path=None, config=config, state_dict=source.state_dict())
    assert_same_weights(model.state_dict(), source.state_dict())
    with pytest.raises(ConfigurationError, match=r"config=<a configuration>"):
        BertForMaskedLM.from_pretrained(None)


def test_a_config_asking_for_gradient_checkpointing_switches_it_on() -> None:
    config = BertConfig(**TINY_BERT, gradient_checkpointing=True)
    model = BertModel(config)
    assert model.is_gradient_checkpointing and "gradient_checkpointing" not in model.config.to_dict()
    assert not BertModel(BertConfig(**TINY_BERT)).is_gradient_checkpointing
