"""``transformers.integrations``: whether the optional packages of the reference's integrations are installed.

modelyard's trainer reports to CSV and TensorBoard only and runs no DeepSpeed, so the reference's integration
classes are not here; code that asks ``is_wandb_available()`` before importing ``wandb`` gets the truth about
this environment. :mod:`.deepspeed` answers the DeepSpeed questions.
"""

from __future__ import annotations

from collections.abc import Callable

from modelyard.compat.transformers._namespace import declare
from modelyard.compat.transformers.utils.import_utils import _found


def _availability(integration: str, *packages: str, any_of: bool = False) -> Callable[[], bool]:
    """``is_<integration>_available()``: whether all of ``packages`` (any of them, with ``any_of``) can be imported."""

    def available() -> bool:
        found = (_found(package) for package in packages)
        return any(found) if any_of else all(found)

    available.__name__ = available.__qualname__ = f"is_{integration}_available"
    available.__module__ = __name__
    available.__doc__ = f"Whether {(' or ' if any_of else ' and ').join(packages)} can be imported."
    return available


# The reference's integrations and the packages each needs.
globals().update(
    (check.__name__, check)
    for check in (
        _availability("azureml", "azureml"),
        _availability("clearml", "clearml"),
        _availability("codecarbon", "codecarbon"),
        _availability("comet", "comet_ml"),
        _availability("dagshub", "dagshub", "mlflow"),
        _availability("dvclive", "dvclive"),
        _availability("flytekit", "flytekit"),
        _availability("flyte_deck_standard", "flytekit", "flytekitplugins.deck"),
        _availability("mlflow", "mlflow"),
        _availability("neptune", "neptune"),
        _availability("optuna", "optuna"),
        _availability("ray", "ray"),
        _availability("ray_tune", "ray", "ray.tune"),
        _availability("sigopt", "sigopt"),
        _availability("swanlab", "swanlab"),
        _availability("tensorboard", "tensorboard", "tensorboardX", any_of=True),
        _availability("trackio", "trackio"),
        _availability("wandb", "wandb"),
    )
)

__getattr__, __dir__ = declare(
    globals(),
    {"is_deepspeed_available": "modelyard.compat.transformers.integrations.deepspeed"},
    submodules=("deepspeed",),
)
