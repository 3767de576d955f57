"""``transformers.trainer_pt_utils``: ``AcceleratorConfig``, the settings of the Trainer's accelerator."""

from __future__ import annotations

from modelyard.compat.transformers._namespace import declare

__getattr__, __dir__ = declare(globals(), {"AcceleratorConfig": "modelyard.training.accelerator_config"})
