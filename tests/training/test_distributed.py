"""Runs of ``train_tiny.py`` in fresh processes: one process, and two over gloo (``torchrun`` and
``accelerate launch``), killed with SIGKILL and resumed.

The promises: training N steps in one go and training k steps, SIGKILL, resume give bit-identical weights
(1 and 2 processes, also when killed in the middle of writing a checkpoint); 2 processes equal 1 process
with the same global batch (within float tolerance); evaluation over 2 processes counts each of 7 samples
once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

pytest.importorskip("accelerate")

SCRIPT = Path(__file__).resolve().parent / "train_tiny.py"
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    # one thread per process: the same kernels in every run, and two processes fit on two cores
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}


def run(out: Path, *options: str, processes: int = 1, launcher: str = "torchrun", expect_kill: bool = False) -> None:
    if processes == 1:
        command = [sys.executable, str(SCRIPT), str(out), *options]
    elif launcher == "torchrun":
        command = [str(BIN / "torchrun"), "--nproc-per-node", str(processes), "--log-dir", str(out.parent / "logs"),
                   str(SCRIPT), str(out), *options]
    else:
        command = [str(BIN / "accelerate"), "launch", "--multi_gpu", "--num_processes", str(processes),
                   "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                   str(SCRIPT), str(out), *options]
    result = subprocess.run(command, capture_output=True, text=True, timeout=240, env=_env())
    if expect_kill:
        assert result.returncode != 0, "the run was meant to be killed but finished"
        if processes == 1:
            assert result.returncode == -9, result.stderr[-2000:]
    else:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "final" / "model.safetensors"))


def assert_bit_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"{len(different)} tensors differ, e.g. {different[:3]}"


@pytest.mark.parametrize("processes", [1, 2])
def test_kill_and_resume_is_bit_identical(tmp_path: Path, processes: int) -> None:
    # 12 steps of 2 accumulated micro-batches; 40 examples -> epochs end mid-run; killed after step 8's save
    run(tmp_path / "whole", processes=processes)
    run(tmp_path / "killed", "--kill-after-save", "8", processes=processes, expect_kill=True)
    assert sorted(p.name for p in (tmp_path / "killed").glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-8"]
    run(tmp_path / "killed", "--resume", processes=processes)
    assert_bit_identical(weights(tmp_path / "whole"), weights(tmp_path / "killed"))
    state = json.loads((tmp_path / "killed" / "checkpoint-12" / "trainer_state.json").read_text())
    assert state["global_step"] == 12
    rng_files = sorted(p.name for p in (tmp_path / "killed" / "checkpoint-12").glob("rng_state*.pth"))
    assert rng_files == (["rng_state.pth"] if processes == 1 else ["rng_state_0.pth", "rng_state_1.pth"])


def test_kill_in_the_middle_of_a_save_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    run(tmp_path / "whole")
    run(tmp_path / "killed", "--kill-mid-save", "8", expect_kill=True)
    folder = tmp_path / "killed"
    assert (folder / "checkpoint-4" / "trainer_state.json").is_file()
    assert not (folder / "checkpoint-8").exists()  # half-written: only under its temporary name
    assert (folder / "tmp-checkpoint-8").is_dir()
    run(folder, "--resume")  # picks checkpoint-4, the latest complete one
    assert_bit_identical(weights(tmp_path / "whole"), weights(folder))
    assert not (folder / "tmp-checkpoint-8").exists()


def test_two_processes_equal_one_process_with_the_same_global_batch(tmp_path: Path) -> None:
    common = ["--task", "cls", "--dropout", "0", "--optim", "sgd", "--accumulation", "1", "--max-steps", "6",
              "--save-steps", "100"]
    run(tmp_path / "one", *common, "--batch", "8")
    run(tmp_path / "two", *common, "--batch", "4", processes=2)
    one, two = weights(tmp_path / "one"), weights(tmp_path / "two")
    for key in one:
        # float32 sums in another order (two half-batch means averaged by the all-reduce): ~1e-7 relative
        # per step, 6 SGD steps
        torch.testing.assert_close(two[key], one[key], rtol=1e-5, atol=1e-6, msg=key)


def test_evaluation_over_two_processes_counts_every_sample_once(tmp_path: Path) -> None:
    # 7 samples, eval batch 2 per process: accelerate pads the last round with repeats; they must not count
    options = ["--task", "cls", "--dropout", "0", "--optim", "sgd", "--accumulation", "1", "--max-steps", "2",
               "--save-steps", "100", "--eval-size", "7"]
    run(tmp_path / "two", *options, "--batch", "4", processes=2, launcher="accelerate")
    run(tmp_path / "one", *options, "--batch", "8")
    two = json.loads((tmp_path / "two" / "report.json").read_text())
    one = json.loads((tmp_path / "one" / "report.json").read_text())
    assert two["processes"] == 2 and one["processes"] == 1
    assert two["predicted_rows"] == 7 and two["label_rows"] == 7
    assert two["eval"]["eval_samples_per_second"] > 0
    # the same model (same global batch) on the same 7 samples: the same mean loss; a sample counted twice
    # would move the mean by ~1/7 of its deviation
    assert two["eval"]["eval_loss"] == pytest.approx(one["eval"]["eval_loss"], rel=1e-5)
