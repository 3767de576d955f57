"""The "Compartilhando modelos customizados" walkthrough, step by step, with modelyard.

    python examples/custom_architecture/walkthrough.py [--workdir DIR] [--tiny]

Each step prints what it did. Folders are written into ``--workdir`` (a new temporary folder by default),
as the document writes them into the current directory. When ``HF_ENDPOINT`` names a hub and a token is
available (``HF_TOKEN`` or ``modelyard login``), the model is also pushed there and loaded back by repo id
and by commit hash; otherwise those steps are skipped with a note.

Differences from the document: ``transformers`` is ``modelyard``, and timm's ResNet is the pure-PyTorch one
in ``resnet_model/resnet.py`` (same module names). There are no pretrained weights to download here, so a
freshly created ``resnet50d`` stands in for ``timm.create_model("resnet50d", pretrained=True)``. ``--tiny``
shrinks the network (same code paths, fewer layers) so the test suite runs quickly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # the document imports `resnet_model` from the working directory
    sys.path.insert(0, str(HERE))


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    """Bit-identical parameters and buffers: what saving and loading promise."""
    theirs = b.state_dict()
    return a.state_dict().keys() == theirs.keys() and all(torch.equal(v, theirs[k]) for k, v in a.state_dict().items())


def same_logits(a: torch.nn.Module, b: torch.nn.Module, images: torch.Tensor) -> bool:
    """Equal up to float rounding: kernels may sum in another order for memory-mapped weights."""
    with torch.no_grad():
        return torch.allclose(a(images)["logits"], b(images)["logits"], rtol=1e-5, atol=1e-5)


def step(title: str) -> None:
    print(f"\n=== {title}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="where to write the folders (default: a temp dir)")
    parser.add_argument("--tiny", action="store_true", help="a small network with the same structure (for tests)")
    args = parser.parse_args()
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="custom-architecture-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    os.chdir(workdir)
    print(f"working in {workdir}")
    size: dict[str, object] = {"layers": [1, 1], "num_classes": 10} if args.tiny else {}

    # ------------------------------------------------------------------------------------------------
    step("1. Writing a custom configuration")
    from resnet_model.configuration_resnet import ResnetConfig

    resnet50d_config = ResnetConfig(block_type="bottleneck", stem_width=32, stem_type="deep", avg_down=True, **size)
    resnet50d_config.save_pretrained("custom-resnet")
    resnet50d_config = ResnetConfig.from_pretrained("custom-resnet")
    print("custom-resnet/config.json:", sorted(os.listdir("custom-resnet")))
    print("reloaded:", resnet50d_config.block_type, resnet50d_config.stem_type, resnet50d_config.avg_down)
    for bad in ({"block_type": "wide"}, {"stem_type": "shallow"}):
        try:
            ResnetConfig(**bad)
        except ValueError as err:
            print("validation:", err)

    # ------------------------------------------------------------------------------------------------
    step("2. Writing a custom model")
    from resnet_model.modeling_resnet import ResnetModel, ResnetModelForImageClassification
    from resnet_model.resnet import create_model

    resnet50d = ResnetModelForImageClassification(resnet50d_config)
    # The document: pretrained_model = timm.create_model("resnet50d", pretrained=True)
    torch.manual_seed(0)
    pretrained_model = create_model("resnet50d", **size)
    resnet50d.model.load_state_dict(pretrained_model.state_dict())
    print(f"resnet50d parameters: {resnet50d.num_parameters():,}")
    images = torch.randn(2, 3, 64, 64)
    labels = torch.tensor([1, 2])
    resnet50d.eval()
    outputs = resnet50d(images, labels=labels)
    print("outputs:", sorted(outputs), "logits", tuple(outputs["logits"].shape), f"loss {outputs['loss'].item():.4f}")
    features = ResnetModel(resnet50d_config)(images)
    print("ResnetModel features:", tuple(features.shape))

    # ------------------------------------------------------------------------------------------------
    step("3. Sending the code with the weights")
    ResnetConfig.register_for_auto_class()
    ResnetModel.register_for_auto_class("AutoModel")
    ResnetModelForImageClassification.register_for_auto_class("AutoModelForImageClassification")
    resnet50d.save_pretrained("custom-resnet50d")
    print("custom-resnet50d:", sorted(os.listdir("custom-resnet50d")))
    saved = json.loads(Path("custom-resnet50d/config.json").read_text())
    print("auto_map:", json.dumps(saved["auto_map"], sort_keys=True))
    from modelyard.dynamic_modules import check_portable_code

    # resnet_model imports modelyard inside try/except ImportError, falling back to transformers: users of the
    # transformers library can load the saved folder too (save_pretrained(..., portable_code=True) would write
    # plain `from modelyard import ...` lines that way).
    ties = [str(tie) for tie in check_portable_code("custom-resnet50d") if not tie.guarded]
    print("imports tying the saved code to modelyard:", ties or "none")
    commit_hash = push_if_hub_available(resnet50d)

    # ------------------------------------------------------------------------------------------------
    step("4. Using a model with custom code")
    from modelyard import AutoModelForImageClassification
    from modelyard.errors import TrustRemoteCodeError

    try:
        AutoModelForImageClassification.from_pretrained("custom-resnet50d")
    except TrustRemoteCodeError as err:
        print("without trust_remote_code:", err)
    model = AutoModelForImageClassification.from_pretrained("custom-resnet50d", trust_remote_code=True)
    print("loaded class:", type(model).__name__, "from", type(model).__module__)
    print("identical weights:", same_weights(model, resnet50d), "same logits:", same_logits(model, resnet50d, images))
    if commit_hash is not None:
        repo_id = commit_hash[0]
        model = AutoModelForImageClassification.from_pretrained(repo_id, trust_remote_code=True)
        print("from the hub:", type(model).__module__)
        model = AutoModelForImageClassification.from_pretrained(repo_id, trust_remote_code=True, revision=commit_hash[1])
        print("pinned to commit", commit_hash[1], "identical weights:", same_weights(model, resnet50d),
              "same logits:", same_logits(model, resnet50d, images))

    # ------------------------------------------------------------------------------------------------
    step("5. Registering a model with custom code for the auto classes")
    from modelyard import AutoConfig, AutoModel
    from modelyard.errors import RegistrationError

    try:
        AutoConfig.register("resnet", ResnetConfig)
    except RegistrationError as err:
        print("refused:", err)

    # The document's own condition: a model_type that no existing model uses. A subclass gives the
    # document's classes one without touching the built-in "resnet" (see README.md for exist_ok=True).
    class CustomResnetConfig(ResnetConfig):
        model_type = "custom-resnet"

    class CustomResnetModel(ResnetModel):
        config_class = CustomResnetConfig

    class CustomResnetModelForImageClassification(ResnetModelForImageClassification):
        config_class = CustomResnetConfig

    AutoConfig.register("custom-resnet", CustomResnetConfig)
    AutoModel.register(CustomResnetConfig, CustomResnetModel)
    AutoModelForImageClassification.register(CustomResnetConfig, CustomResnetModelForImageClassification)
    try:
        AutoModel.register(CustomResnetConfig, ResnetModel, exist_ok=True)
    except RegistrationError as err:
        print("refused:", err)

    config = AutoConfig.for_model("custom-resnet", block_type="bottleneck", stem_width=32, stem_type="deep", avg_down=True, **size)
    registered = AutoModelForImageClassification.from_config(config)
    registered.model.load_state_dict(resnet50d.model.state_dict())
    registered.save_pretrained("registered-resnet50d")
    reloaded = AutoModelForImageClassification.from_pretrained("registered-resnet50d")
    print("registered classes:", type(config).__name__, type(reloaded).__name__)
    print("registered: identical weights:", same_weights(reloaded, resnet50d),
          "same logits:", same_logits(reloaded.eval(), resnet50d, images))
    print("\nwalkthrough finished")


def push_if_hub_available(model: torch.nn.Module) -> tuple[str, str] | None:
    """Push to the hub named by HF_ENDPOINT when one is set up; returns ``(repo_id, commit)``."""
    from modelyard.hub import settings

    if "HF_ENDPOINT" not in os.environ or settings.get_token() is None:
        print("push_to_hub skipped: set HF_ENDPOINT to a hub and log in (HF_TOKEN or `modelyard login`) to run it")
        return None
    try:
        info = model.push_to_hub("custom-resnet50d")  # type: ignore[attr-defined]
    except OSError as err:  # no hub listening there
        print(f"push_to_hub skipped: {err}")
        return None
    repo_id = info.repo_url.repo_id
    print(f"pushed to {repo_id} at commit {info.oid}")
    return repo_id, info.oid


if __name__ == "__main__":
    main()
