"""``transformers.integrations``: whether the optional packages of the reference's integrations are installed.

modelyard's trainer reports to CSV and TensorBoard only and runs no DeepSpeed, so the reference's integration
classes are not here; code that asks ``is_wandb_available()`` before importing ``wandb`` gets the truth about
this environment. :mod:`.deepspeed` answers the DeepSpeed questions.
"""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare
from modelyard.compat.transformers.utils.import_utils import _found


def is_azureml_available() -> bool:
    return _found("azureml")


def is_clearml_available() -> bool:
    return _found("clearml")


def is_codecarbon_available() -> bool:
    return _found("codecarbon")


def is_comet_available() -> bool:
    return _found("comet_ml")


def is_dagshub_available() -> bool:
    return _found("dagshub") and _found("mlflow")


def is_dvclive_available() -> bool:
    return _found("dvclive")


def is_flytekit_available() -> bool:
    return _found("flytekit")


def is_flyte_deck_standard_available() -> bool:
    return _found("flytekit") and _found("flytekitplugins.deck")


def is_mlflow_available() -> bool:
    return _found("mlflow")


def is_neptune_available() -> bool:
    return _found("neptune")


def is_optuna_available() -> bool:
    return _found("optuna")


def is_ray_available() -> bool:
    return _found("ray")


def is_ray_tune_available() -> bool:
    return _found("ray") and _found("ray.tune")


def is_sigopt_available() -> bool:
    return _found("sigopt")


def is_swanlab_available() -> bool:
    return _found("swanlab")


def is_tensorboard_available() -> bool:
    return _found("tensorboard") or _found("tensorboardX")


def is_trackio_available() -> bool:
    return _found("trackio")


def is_wandb_available() -> bool:
    return _found("wandb")


__getattr__, __dir__ = declare(
    globals(),
    {"is_deepspeed_available": "modelyard.compat.transformers.integrations.deepspeed"},
    submodules=("deepspeed",),
)
