"""The "Training metrics" tab over HTTP: a model trained with modelyard's Trainer (tiny, a few seconds) pushed
with its checkpoints, trainer_state.json, training_args.json (and .bin) and TensorBoard run; the tab's link, charts, settings,
revisions, sources, bounds, visibility and untrusted metric names. The browser test is in test_web_browser.py.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import time
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from _html_audit import audit_page
from _hub_server import HubServer
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from torch import nn

from modelyard.server.web import security, training_logs

CARD = """---
license: mit
library_name: modelyard
---
# A tiny classifier

## Training procedure

### Training hyperparameters

The following hyperparameters were used during training:
- learning_rate: 0.1
- train_batch_size: 8
- lr_scheduler_type: linear
- num_epochs: 3
"""


class Classifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, Any]:
        logits = self.linear(x)
        out = {"logits": logits}
        if labels is not None:
            out["loss"] = nn.functional.cross_entropy(logits, labels)
        return out


def accuracy(prediction: Any) -> dict[str, float]:
    logits, labels = prediction
    return {"accuracy": float((logits.argmax(-1) == labels).mean())}


def train(output: Path) -> Any:
    """Three epochs of a linear classifier: loss, learning rate and grad_norm every 2 steps, an evaluation every
    6, a checkpoint every 12, scalars in a TensorBoard run under runs/toy."""
    from modelyard.training import Trainer, TrainingArguments

    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 4, generator=g)
    data = [{"x": x[i], "labels": int(x[i, 0] > 0)} for i in range(96)]
    args = TrainingArguments(
        output_dir=str(output), per_device_train_batch_size=8, learning_rate=0.1, num_train_epochs=3, logging_steps=2,
        eval_strategy="steps", eval_steps=6, save_strategy="steps", save_steps=12, disable_tqdm=True, seed=3,
        report_to="tensorboard", logging_dir=str(output / "runs" / "toy"), warmup_steps=4, lr_scheduler_type="linear")
    torch.manual_seed(0)
    trainer = Trainer(Classifier(), args, train_dataset=data, eval_dataset=data[:16], compute_metrics=accuracy)
    trainer.train()
    trainer.state.save_to_json(output / "trainer_state.json")
    return trainer.state


class _Marker:
    """A training_args.bin that would leave a file behind if anything unpickled it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # noqa: ANN204
        return (os.makedirs, (self.path,))


@pytest.fixture(scope="module")
def trained(hub_server: HubServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    pytest.importorskip("tensorboardX")
    output = tmp_path_factory.mktemp("run") / "out"
    state = train(output)
    (output / "README.md").write_text(CARD)
    marker = tmp_path_factory.mktemp("marker") / "unpickled"
    api = hub_server.api()
    repo = hub_server.repo_id("trained-classifier")
    api.create_repo(repo)
    first = api.upload_folder(folder_path=str(output), repo_id=repo, commit_message="The trained model").oid
    policy = hub_server.settings.unsafe_pickles
    hub_server.settings.unsafe_pickles = "mark"
    try:
        api.upload_file(path_or_fileobj=pickle.dumps(_Marker(str(marker))), path_in_repo="training_args.bin",
                        repo_id=repo, commit_message="The reference's pickled arguments")
    finally:
        hub_server.settings.unsafe_pickles = policy
    return {"repo": repo, "state": state, "first": first, "marker": marker,
            "run": next(p.name for p in (output / "runs" / "toy").glob("events.out.tfevents.*"))}


@pytest.fixture
def web(hub_server: HubServer) -> Any:
    with httpx.Client(base_url=hub_server.url, headers={"Accept": "text/html"}, timeout=60) as client:
        yield client


def _charts(html: str) -> dict[str, str]:
    """Chart title -> its SVG."""
    return dict(re.findall(r"<figcaption>([^<]*)</figcaption>\s*(<svg .*?</svg>)", html, re.DOTALL))


def _table(html: str, title: str) -> dict[str, str]:
    section = html.split(f"<h2>{title}</h2>", 1)[1].split("</section>", 1)[0]
    return {unescape(k): unescape(v) for k, v in re.findall(r"<tr><th>([^<]*)</th><td>([^<]*)</td></tr>", section)}


def test_the_model_page_links_the_tab_only_when_there_are_logs(web: httpx.Client, hub_server: HubServer,
                                                              trained: dict) -> None:
    repo = trained["repo"]
    html = web.get(f"/{repo}").text
    assert f'<a href="/{repo}/metrics/main" >Training metrics</a>' in html
    plain = hub_server.repo_id("no-logs")
    hub_server.api().create_repo(plain)
    hub_server.api().upload_file(path_or_fileobj=b"{}", path_in_repo="config.json", repo_id=plain)
    assert "Training metrics" not in web.get(f"/{plain}").text
    answer = web.get(f"/{plain}/metrics/main")
    assert answer.status_code == 404 and "No training metrics" in answer.text
    assert "holds no trainer_state.json and no TensorBoard event files" in answer.text


def test_the_tab_draws_loss_learning_rate_grad_norm_and_every_eval_metric(web: httpx.Client, trained: dict) -> None:
    repo, state = trained["repo"], trained["state"]
    answer = web.get(f"/{repo}/metrics/main")
    assert answer.status_code == 200
    assert answer.headers["content-security-policy"] == security.PAGE_CSP
    html = answer.text
    assert audit_page(html, charts=True) == []
    assert f'<a href="/{repo}/metrics/main" aria-current="page">Training metrics</a>' in html
    charts = _charts(html)
    assert list(charts) == ["Loss", "Learning rate", "Gradient norm", "eval_accuracy", "eval_runtime",
                            "eval_samples_per_second", "eval_steps_per_second"]
    records = state.log_history
    train_steps = [r["step"] for r in records if "loss" in r]
    eval_steps = [r["step"] for r in records if "eval_loss" in r]
    assert train_steps == list(range(2, 37, 2)) and eval_steps == list(range(6, 37, 6))
    loss = charts["Loss"]
    assert f"loss, eval_loss against step ({len(train_steps) + len(eval_steps)} points)" in loss
    last_loss = next(r["loss"] for r in reversed(records) if "loss" in r)
    last_eval = next(r["eval_loss"] for r in reversed(records) if "eval_loss" in r)
    assert f">loss ({last_loss:.4g})</text>" in loss and f">eval_loss ({last_eval:.4g})</text>" in loss
    assert len(re.findall(r'<g class="series"', loss)) == 2
    assert ">36</text>" not in loss and ">40</text>" in loss and ">0</text>" in loss  # step ticks: 0..40
    assert "learning_rate against step (18 points)" in charts["Learning rate"]
    assert f'Read from <a href="/{repo}/blob/main/trainer_state.json">trainer_state.json</a>' in html
    summary = _table(html, "Run summary")
    assert set(summary) >= {"train_runtime", "train_loss", "train_samples_per_second"}


def test_the_runs_settings_come_from_the_state_training_args_json_and_the_card(web: httpx.Client,
                                                                               trained: dict) -> None:
    repo = trained["repo"]
    html = web.get(f"/{repo}/metrics/main").text
    settings = _table(html, "Trainer state")
    assert {k: settings[k] for k in ("train_batch_size", "num_train_epochs", "max_steps", "logging_steps",
                                     "eval_steps", "save_steps", "global_step")} == {
        "train_batch_size": "8", "num_train_epochs": "3", "max_steps": "36", "logging_steps": "2", "eval_steps": "6",
        "save_steps": "12", "global_step": "36"}
    arguments = _table(html, "Training arguments")
    assert arguments["learning_rate"] == "0.1" and arguments["lr_scheduler_type"] == "linear"
    assert arguments["report_to"] == '["tensorboard"]'
    assert arguments["disable_tqdm"] == "true" and arguments["hub_model_id"] == "null"  # JSON values, as in the file
    card = _table(html, "Training hyperparameters (model card)")
    assert card == {"learning_rate": "0.1", "train_batch_size": "8", "lr_scheduler_type": "linear", "num_epochs": "3"}
    assert "training_args.bin is a pickle" in html and "never unpickles" in html
    assert not trained["marker"].exists()  # and indeed nothing unpickled it


def test_the_tab_follows_the_revision(web: httpx.Client, hub_server: HubServer, trained: dict) -> None:
    repo = trained["repo"]
    api = hub_server.api()
    records = [{"epoch": s / 10, "learning_rate": 0.01, "loss": 1.0 / s, "step": s} for s in range(1, 6)]
    api.create_branch(repo, branch="short-run", revision=trained["first"])
    state = json.dumps({"global_step": 5, "log_history": records, "max_steps": 5}, indent=2, sort_keys=True)
    api.create_commit(repo, revision="short-run", commit_message="A shorter run", operations=[
        CommitOperationAdd("trainer_state.json", state.encode()),
        *(CommitOperationDelete(f"checkpoint-{n}/") for n in (12, 24, 36))])
    for path in (f"/{repo}/metrics/short-run", f"/{repo}/metrics?revision=short-run"):
        html = web.get(path).text
        assert "loss against step (5 points)" in _charts(html)["Loss"], path
        assert _table(html, "Trainer state")["max_steps"] == "5"
        assert f'href="/{repo}/metrics/main"' in html  # the revision picker
    main = web.get(f"/{repo}/metrics?revision=main").text
    assert _table(main, "Trainer state")["max_steps"] == "36"
    pinned = web.get(f"/{repo}/metrics/{trained['first']}").text
    assert _table(pinned, "Trainer state")["max_steps"] == "36"
    # the commit before the reference's pickle was added on top (the Trainer's checkpoints hold a training_args.bin
    # of their own, as the reference's do, so the page notes a pickle at both commits)
    first_commit = f"at commit <code>{trained['first'][:7]}</code>"
    assert first_commit in pinned and first_commit not in main
    tree = web.get(f"/{repo}/tree/short-run").text
    assert f'<a href="/{repo}/metrics/short-run" >Training metrics</a>' in tree  # the tab keeps the revision
    missing = web.get(f"/{repo}/metrics/no-such-branch")
    assert missing.status_code == 404 and "Revision not found" in missing.text


def test_the_tensorboard_run_is_another_source(web: httpx.Client, trained: dict) -> None:
    repo = trained["repo"]
    html = web.get(f"/{repo}/metrics/main").text
    assert f'href="/{repo}/metrics/main?source=tensorboard%3Aruns%2Ftoy"' in html
    board = web.get(f"/{repo}/metrics/main", params={"source": "tensorboard:runs/toy"})
    assert board.status_code == 200 and audit_page(board.text, charts=True) == []
    charts = _charts(board.text)
    assert list(charts)[:4] == ["Loss", "Learning rate", "Gradient norm", "eval_accuracy"]
    assert "loss, eval_loss against step (24 points)" in charts["Loss"]  # the same 18 + 6 records
    assert f"runs/toy/{trained['run']}</a>" in board.text
    assert _table(board.text, "Training arguments (TensorBoard text)")["learning_rate"] == "0.1"
    unknown = web.get(f"/{repo}/metrics/main", params={"source": "tensorboard:elsewhere"})
    assert unknown.status_code == 404 and "&#39;tensorboard:runs/toy&#39;" in unknown.text


def test_a_private_repositorys_metrics_are_a_404_to_others(web: httpx.Client, hub_server: HubServer) -> None:
    api = hub_server.api()
    repo = hub_server.repo_id("private-run")
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=json.dumps({"log_history": [{"loss": 1.0, "step": 1}]}).encode(),
                    path_in_repo="trainer_state.json", repo_id=repo)
    assert web.get(f"/{repo}/metrics/main").status_code == 404
    owner = web.get(f"/{repo}/metrics/main", headers={"Authorization": f"Bearer {hub_server.token}"})
    assert owner.status_code == 200 and "loss against step (1 points)" in owner.text


def test_metric_names_from_the_log_cannot_inject_markup(web: httpx.Client, hub_server: HubServer) -> None:
    payloads = ["</text><script>alert('m1')</script>", "<img src=x onerror=alert('m2')>",
                "eval_\"><svg onload=alert('m3')>", "eval_</svg></figure><script>alert('m4')</script>",
                "<foreignObject><iframe src=javascript:alert('m5')>"]
    records = [{name: float(step), "step": step} for step in range(1, 4) for name in payloads]
    state = {"log_history": records, "trial_name": "<script>alert('m6')</script>", "global_step": 3}
    api = hub_server.api()
    repo = hub_server.repo_id("xss-metrics")
    api.create_repo(repo)
    card = "### Training hyperparameters\n- <script>alert('m7')</script>: <img src=x onerror=alert('m8')>\n"
    api.create_commit(repo, operations=[
        CommitOperationAdd("trainer_state.json", json.dumps(state).encode()),
        CommitOperationAdd("training_args.json", json.dumps({"<b>x</b>": "<script>alert('m9')</script>"}).encode()),
        CommitOperationAdd("README.md", card.encode())], commit_message="payloads")
    html = web.get(f"/{repo}/metrics/main").text
    assert audit_page(html, charts=True) == []
    assert len(_charts(html)) == len(payloads)
    for payload in payloads:
        assert payload not in html
        assert unescape(payload) in unescape(html)  # shown, as text


def test_a_huge_log_is_read_within_bounds_and_thinned(web: httpx.Client, hub_server: HubServer) -> None:
    records: list[dict[str, Any]] = []
    for step in range(1, 70_001):
        records.append({"epoch": step / 1000, "grad_norm": 1.0, "learning_rate": 1e-4, "loss": 3.0 / math.sqrt(step),
                        "step": step})
    records[100] = {**records[100], "loss": math.nan}
    text = json.dumps({"global_step": 70_000, "log_history": records, "max_steps": 70_000, "train_batch_size": 4},
                      indent=2, sort_keys=True)
    assert len(text) > training_logs.STATE_HEAD
    repo = hub_server.repo_id("long-run")
    hub_server.api().create_repo(repo)
    hub_server.api().upload_file(path_or_fileobj=text.encode(), path_in_repo="trainer_state.json", repo_id=repo)
    started = time.monotonic()
    html = web.get(f"/{repo}/metrics/main").text
    elapsed = time.monotonic() - started
    assert elapsed < 60  # generous for a loaded machine; bounded work, not proportional to the file
    loss = _charts(html)["Loss"]
    path = re.search(r'<path d="([^"]+)"', loss).group(1)
    assert path.count("L") + 1 <= training_logs.POINTS
    notes = unescape(html)
    assert "The log is 1" in notes and "MB: its first 8.39 MB are drawn (up to step" in notes
    assert "1 values were not finite" in notes
    settings = _table(html, "Trainer state")
    assert settings["max_steps"] == "70000" and settings["train_batch_size"] == "4"  # from the tail
    assert len(html) < 400_000
