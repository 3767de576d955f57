"""``transformers.trainer_utils``: ``set_seed`` (what remote code and scripts import from here)."""

from __future__ import annotations

import random

from modelyard.compat.transformers._namespace import declare


def set_seed(seed: int, deterministic: bool = False) -> None:
    """Seed Python's, NumPy's and torch's generators (all devices); ``deterministic`` also asks torch for
    deterministic kernels."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True)


__getattr__, __dir__ = declare(globals(), {})
