"""What the real repositories' users do with the corpus styles beyond one forward (tests/dynamic/corpus/):
gte's unpadded path, a SentencePiece tokenizer saved and loaded again, the SigLIP tower's config read out of a
full SigLIP config, nomic-embed's code taken from another repository, and the 4.x config helper these styles
call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from _corpus_runner import (
    REFERENCE_PYTHON,
    build,
    model_inputs,
    output_tolerance,
    reference_entry,
    run_reference,
    tensor_digest,
)
from _dynamic_helpers import write_files
from _reference_corpus import BY_NAME
from corpus import nomic_bert, siglip_navit
from corpus.repo import output_field
from safetensors.torch import load_file

import modelyard


def test_gte_unpadded_inputs_give_the_padded_values_at_real_tokens(tmp_path: Path) -> None:
    repo = BY_NAME["gte_new_impl"]
    model = modelyard.AutoModel.from_pretrained(build(repo, tmp_path / "gte"), trust_remote_code=True)
    inputs = model_inputs(repo, repo.inputs)
    with torch.no_grad():
        padded = model(**inputs).last_hidden_state
        packed = model(**inputs, unpad_inputs=True).last_hidden_state
    real = inputs["attention_mask"].bool()
    torch.testing.assert_close(packed[real], padded[real], **output_tolerance(padded[real]))
    assert torch.count_nonzero(packed[~real]) == 0  # padding positions come back as zeros


@pytest.mark.parametrize("name", ["sentencepiece_baichuan_style", "sentencepiece_chatglm_style"])
def test_sentencepiece_tokenizer_saves_and_loads_back(name: str, tmp_path: Path) -> None:
    repo = BY_NAME[name]
    folder = build(repo, tmp_path / name)
    tokenizer = modelyard.AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
    saved = tmp_path / "saved"
    tokenizer.save_pretrained(saved)
    assert (saved / "tokenizer.model").read_bytes() == (folder / "tokenizer.model").read_bytes()
    assert (saved / ("tokenization_" + ("baichuan.py" if "baichuan" in name else "chatglm.py"))).exists()
    again = modelyard.AutoTokenizer.from_pretrained(saved, trust_remote_code=True)
    assert type(again).__name__ == type(tokenizer).__name__
    assert again(repo.tokenizer_text, padding=True)["input_ids"] == tokenizer(repo.tokenizer_text, padding=True)["input_ids"]
    assert again.get_vocab() == tokenizer.get_vocab()


def test_siglip_vision_config_reads_the_tower_out_of_a_full_siglip_config(tmp_path: Path) -> None:
    repo = BY_NAME["siglip_navit"]
    folder = build(repo, tmp_path / "siglip")
    config = modelyard.AutoConfig.from_pretrained(folder, trust_remote_code=True)
    full = tmp_path / "full"
    full.mkdir()
    (full / "config.json").write_text(siglip_navit.full_siglip_config())
    tower = type(config).from_pretrained(full)
    assert type(tower).__name__ == "SiglipVisionConfig"
    assert (tower.hidden_size, tower.patch_size, tower.image_size) == (16, 4, 16)
    with pytest.warns(FutureWarning, match="use_auth_token"):
        type(config).from_pretrained(full, use_auth_token=False)


def test_set_token_in_kwargs_follows_the_reference() -> None:
    kwargs: dict[str, object] = {"token": "t", "revision": "main"}
    modelyard.PretrainedConfig._set_token_in_kwargs(kwargs)
    assert kwargs == {"token": "t", "revision": "main"}
    with pytest.warns(FutureWarning):
        legacy: dict[str, object] = {"use_auth_token": "u"}
        modelyard.PretrainedConfig._set_token_in_kwargs(legacy)
    assert legacy == {"token": "u"}
    with pytest.raises(ValueError, match="only token") as raised, pytest.warns(FutureWarning):
        modelyard.PretrainedConfig._set_token_in_kwargs({"token": "hf_secret1", "use_auth_token": "hf_secret2"})
    assert "hf_secret" not in str(raised.value)  # credentials stay out of error messages


def test_nomic_embed_loads_its_code_from_another_repository_pinned(hub_env: Any, tmp_path: Path) -> None:
    """nomic-embed-text's config.json names its classes in nomic-bert-2048 (``<repo>--<module>.<class>``):
    the code comes from that repository, the weights from this one, pinned to a commit; the reference agrees."""
    repo = BY_NAME["nomic_bert"]
    api = hub_env.api()
    code_repo = hub_env.repo_id("nomic-bert-2048")
    api.create_repo(code_repo)
    code_folder = tmp_path / "code"
    write_files(code_folder, nomic_bert.code_files())
    api.upload_folder(repo_id=code_repo, folder_path=str(code_folder))
    embed_folder = build(repo, tmp_path / "embed")  # weights made from the local copy of the code
    for name in nomic_bert.code_files():
        (embed_folder / name).unlink()
    (embed_folder / "config.json").write_text(nomic_bert.cross_repository_config(code_repo))
    embed_repo = hub_env.repo_id("nomic-embed-text")
    api.create_repo(embed_repo)
    commit = api.upload_folder(repo_id=embed_repo, folder_path=str(embed_folder)).oid

    model = modelyard.AutoModel.from_pretrained(embed_repo, revision=commit, trust_remote_code=True)
    assert type(model).__name__ == "NomicBertModel"
    assert type(model).__module__.startswith("modelyard_modules.hub.")
    saved = load_file(embed_folder / "model.safetensors")
    state = model.state_dict()
    assert saved.keys() == state.keys()
    assert all(torch.equal(state[key], value) for key, value in saved.items())
    with torch.no_grad():
        outputs = model(**model_inputs(repo, repo.inputs))
    if REFERENCE_PYTHON.exists():
        env = {"HF_ENDPOINT": hub_env.url, "HF_TOKEN": hub_env.token, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_XET": "1"}
        entry = reference_entry(repo, embed_repo, revision=commit)
        theirs = run_reference([entry], tmp_path, env=env)[repo.name]
        assert "error" not in theirs, theirs.get("error")
        assert theirs["weights"] == {key: tensor_digest(value) for key, value in state.items()}
        for field in repo.outputs:
            expected = torch.tensor(theirs["outputs"][field])
            torch.testing.assert_close(output_field(outputs, field), expected, **output_tolerance(expected))
