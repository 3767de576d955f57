"""Memory metrics of the Trainer's stages (``TrainingArguments(skip_memory_metrics=False)``).

For each stage (``init``, ``train``, ``eval``, ``test``) the metrics gain, in bytes, as the reference's:
``<stage>_mem_cpu_alloc_delta`` (the process's resident memory at the end minus at the start) and
``<stage>_mem_cpu_peaked_delta`` (how far it rose above the end value in between, sampled by a thread), and on
a CUDA device ``<stage>_mem_gpu_alloc_delta`` / ``<stage>_mem_gpu_peaked_delta`` from torch's allocator.
Stages do not nest: an evaluation inside training is not measured on its own (it is part of ``train``).
psutil (a dependency of accelerate) reads the resident memory.
"""

from __future__ import annotations

import threading
from typing import Any

import torch


class MemoryTracker:
    """Measures one stage at a time; :meth:`stop` returns the stage's metrics (nothing when disabled)."""

    SAMPLE_SECONDS = 0.005

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.stage: str | None = None
        self._process: Any = None
        if enabled:
            import psutil

            self._process = psutil.Process()
        self._start_cpu = 0
        self._peak_cpu = 0
        self._start_gpu = 0
        self._stop_sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    def _rss(self) -> int:
        return int(self._process.memory_info().rss)

    def start(self, stage: str) -> None:
        if not self.enabled or self.stage is not None:
            return
        self.stage = stage
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
            self._start_gpu = torch.cuda.memory_allocated()
        self._start_cpu = self._peak_cpu = self._rss()
        self._stop_sampling.clear()
        self._sampler = threading.Thread(target=self._sample, name="modelyard-memory-sampler", daemon=True)
        self._sampler.start()

    def _sample(self) -> None:
        while not self._stop_sampling.wait(self.SAMPLE_SECONDS):
            self._peak_cpu = max(self._peak_cpu, self._rss())

    def stop(self, stage: str) -> dict[str, int]:
        if not self.enabled or self.stage != stage:
            return {}
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join()
        self.stage = None
        end_cpu = self._rss()
        metrics = {
            f"{stage}_mem_cpu_alloc_delta": end_cpu - self._start_cpu,
            f"{stage}_mem_cpu_peaked_delta": max(0, max(self._peak_cpu, end_cpu) - end_cpu),
        }
        if torch.cuda.is_available():
            end_gpu = torch.cuda.memory_allocated()
            metrics[f"{stage}_mem_gpu_alloc_delta"] = end_gpu - self._start_gpu
            metrics[f"{stage}_mem_gpu_peaked_delta"] = max(0, torch.cuda.max_memory_allocated() - end_gpu)
        return metrics
