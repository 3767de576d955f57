"""Errors of the training loop; each also subclasses the standard-library kind a user would catch."""

from __future__ import annotations

from modelyard.errors import ConfigurationError, ModelyardError


class TrainingArgumentsError(ConfigurationError):
    """A training setting is invalid, or contradicts another one (raised when ``TrainingArguments`` is built)."""


class TrainerError(ModelyardError, ValueError):
    """The Trainer cannot run with the model, data or options it was given."""


class CheckpointError(ModelyardError, ValueError):
    """A training checkpoint is missing, incomplete or does not match the run that tries to resume from it."""
