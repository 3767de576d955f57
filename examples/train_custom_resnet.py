"""The guide's promise, kept: a custom model that returns a dict with the loss "is directly usable inside the
Trainer class".

    python examples/train_custom_resnet.py [--steps 30]

1. starts the embedded hub (``modelyard hub serve``) with a user and a write token, as ``hub_demo.py`` does;
2. trains the guide's ``ResnetModelForImageClassification`` (``examples/custom_architecture/resnet_model``,
   whose ``forward`` returns ``{"loss": ..., "logits": ...}``; a small configuration) to tell red, green and
   blue images apart, with ``Trainer(push_to_hub=True)``: the model, its code (``register_for_auto_class``)
   and a model card go to the hub;
3. in a fresh process where ``resnet_model`` is not importable, loads it back by repo id pinned to the
   pushed commit with ``trust_remote_code=True`` and checks it gives the trained model's logits.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # hub_demo (the embedded-hub helpers)
sys.path.insert(0, str(HERE / "custom_architecture"))  # resnet_model, as the guide imports it

from hub_demo import CLI, free_port, run, wait_until_up  # noqa: E402

FRESH_PROCESS_LOAD = """
import sys, torch
from modelyard import AutoModelForImageClassification
repo_id, commit, inputs_file = sys.argv[1:4]
try:
    import resnet_model  # noqa: F401
    raise SystemExit("resnet_model should not be importable here")
except ImportError:
    pass
model = AutoModelForImageClassification.from_pretrained(repo_id, trust_remote_code=True, revision=commit)
saved = torch.load(inputs_file, weights_only=True)
same = torch.equal(model(saved["images"])["logits"], saved["logits"])
print(f"fresh process: {type(model).__name__} from the hub at {commit[:12]}; same logits as the trained model: {same}")
sys.exit(0 if same else 1)
"""


def colour_images(count: int, seed: int) -> list[dict]:
    import torch

    g = torch.Generator().manual_seed(seed)
    rows = []
    for index in range(count):
        label = index % 3  # 0 red, 1 green, 2 blue
        pixels = torch.rand(3, 32, 32, generator=g) * 0.4
        pixels[label] += 0.6
        rows.append({"tensor": pixels, "labels": label})  # the guide's forward(self, tensor, labels=None)
    return rows


def train_and_push(workdir: Path, steps: int) -> tuple[str, str]:
    import numpy as np
    import torch
    from resnet_model.configuration_resnet import ResnetConfig
    from resnet_model.modeling_resnet import ResnetModelForImageClassification

    from modelyard import Trainer, TrainingArguments

    ResnetConfig.register_for_auto_class()
    ResnetModelForImageClassification.register_for_auto_class("AutoModelForImageClassification")
    torch.manual_seed(0)
    config = ResnetConfig(block_type="basic", layers=[1, 1], num_classes=3, stem_width=16, stem_type="deep",
                          avg_down=True)
    model = ResnetModelForImageClassification(config)

    def accuracy(prediction):  # noqa: ANN001, ANN202
        logits, labels = prediction
        return {"accuracy": float((np.argmax(logits, -1) == labels).mean())}

    args = TrainingArguments(
        output_dir=str(workdir / "custom-resnet-colours"), max_steps=steps, per_device_train_batch_size=8,
        learning_rate=3e-3, eval_strategy="steps", eval_steps=max(1, steps // 3), save_strategy="no",
        logging_steps=max(1, steps // 6), disable_tqdm="auto", push_to_hub=True, hub_strategy="end",
    )
    trainer = Trainer(model, args, train_dataset=colour_images(96, seed=0), eval_dataset=colour_images(30, seed=1),
                      compute_metrics=accuracy)
    trainer.train()
    metrics = trainer.evaluate()
    print(f"trained {trainer.state.global_step} steps: eval accuracy {metrics['eval_accuracy']:.2f}, "
          f"eval loss {metrics['eval_loss']:.3f}")
    commit = trainer.push_to_hub(commit_message="Trained on colours")
    repo_id = trainer.hub_model_id
    print(f"pushed to {repo_id} at commit {commit.oid}")
    model.eval()
    images = torch.stack([row["tensor"] for row in colour_images(4, seed=2)])
    with torch.no_grad():
        torch.save({"images": images, "logits": model(images)["logits"]}, workdir / "check.pt")
    return repo_id, commit.oid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="modelyard-train-resnet-") as tmp:
        root = Path(tmp)
        data_dir, home = root / "hub-data", root / "home"
        env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE")}
        env.update(HF_HOME=str(home / "hf"), MODELYARD_HOME=str(home / "modelyard"), PYTHONUNBUFFERED="1",
                   HF_HUB_DISABLE_TELEMETRY="1")
        print("=== 1. Starting the embedded hub")
        run([*CLI, "hub", "user", "add", "alice", "--data-dir", str(data_dir)], env)
        token = run([*CLI, "hub", "token", "create", "--user", "alice", "--data-dir", str(data_dir)], env).split()[0]
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*CLI, "hub", "serve", "--port", str(port), "--data-dir", str(data_dir), "--log-level", "warning"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        try:
            wait_until_up(url, server)
            print(f"hub at {url}; user alice with a write token")
            env.update(HF_ENDPOINT=url, HF_TOKEN=token)
            os.environ.update(env)  # before huggingface_hub is imported: it reads the endpoint at import

            print("\n=== 2. Training the guide's custom ResNet with the Trainer, pushing to the hub")
            repo_id, commit = train_and_push(root, options.steps)

            print("\n=== 3. Loading it back by commit hash in a fresh process")
            fresh_env = {**env, "HF_HOME": str(home / "hf-fresh"), "MODELYARD_HOME": str(home / "modelyard-fresh")}
            fresh_env.pop("PYTHONPATH", None)
            cmd = [sys.executable, "-c", FRESH_PROCESS_LOAD, repo_id, commit, str(root / "check.pt")]
            print(run(cmd, fresh_env, cwd=str(root), timeout=600).strip())
        finally:
            server.terminate()
            server.wait(timeout=30)
    print("\ncustom resnet training finished")


if __name__ == "__main__":
    main()
