"""Which of the reference's tests the suite runs, and the exclusion list (``exclusions.txt``)."""

from __future__ import annotations

from pathlib import Path

# Paths relative to the work tree; every test in them runs unless `keep` below says otherwise.
TEST_PATHS = (
    "tests/utils/test_configuration_utils.py",
    "tests/models/bert",
    "tests/models/distilbert",
    "tests/models/vit",
    "tests/models/wav2vec2",
    "tests/models/resnet",
    "tests/models/auto",
    "tests/utils/test_modeling_utils.py",
    "tests/trainer/test_trainer.py",
)

# The trainer file's subset: the Trainer's own behaviour on the file's tiny regression models (training,
# evaluation, checkpoints, optimizers, schedulers); not the hyper-parameter-search integrations (optuna, ray,
# sigopt, wandb) or the pushes to the public Hub, which need services this suite does not have.
TRAINER_CLASSES = (
    "TrainerIntegrationPrerunTest",
    "TrainerIntegrationTest",
    "TrainerOptimizerChoiceTest",
    "OptimizerAndModelInspectionTest",
)

EXCLUSIONS_FILE = Path(__file__).with_name("exclusions.txt")


def keep(nodeid: str) -> bool:
    """Whether a collected test belongs to the suite (before exclusions)."""
    if nodeid.startswith("tests/trainer/test_trainer.py::"):
        return nodeid.split("::")[1] in TRAINER_CLASSES
    return True


def exclusions(path: Path = EXCLUSIONS_FILE) -> dict[str, str]:
    """``{node id: reason}``. Each entry is ``<node id> | <one-line reason>``; ``#`` starts a comment line.
    Only tests that rely on the reference's private internals (leading-underscore names, deepspeed) belong here."""
    table: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        nodeid, bar, reason = (part.strip() for part in line.partition("|"))
        if not bar or not reason:
            raise ValueError(f"{path}:{number}: an entry needs '<node id> | <reason>', got {line!r}")
        table[nodeid] = reason
    return table


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]
