"""Adafactor (Shazeer & Stern, 2018) with the reference library's settings and defaults.

Why our own: ``torch.optim.Adafactor`` implements a different variant (its own learning-rate and decay
parameters, no ``scale_parameter``/``relative_step``/``warmup_init``), so code and checkpoints written for
the reference's ``transformers.Adafactor`` would train differently on it.

The second moment of a matrix is kept factored (one running mean per row and one per column) instead of a
full tensor, which is what makes the optimizer memory-light; vectors keep a full running mean.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR

from modelyard.training.errors import TrainerError


class Adafactor(Optimizer):
    """``Adafactor(params, lr=None, eps=(1e-30, 1e-3), clip_threshold=1.0, decay_rate=-0.8, beta1=None,
    weight_decay=0.0, scale_parameter=True, relative_step=True, warmup_init=False)``, as the reference.

    With ``relative_step=True`` the step size is computed from the step count (``lr`` must be None); with
    ``relative_step=False`` pass ``lr``. ``scale_parameter`` multiplies the step by the parameter's RMS.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float | None = None,
        eps: tuple[float, float] = (1e-30, 1e-3),
        clip_threshold: float = 1.0,
        decay_rate: float = -0.8,
        beta1: float | None = None,
        weight_decay: float = 0.0,
        scale_parameter: bool = True,
        relative_step: bool = True,
        warmup_init: bool = False,
    ) -> None:
        if lr is not None and relative_step:
            raise TrainerError(
                f"Adafactor got lr={lr} with relative_step=True, which computes its own step size; pass "
                "relative_step=False to use a fixed lr (usually with scale_parameter=False, warmup_init=False)."
            )
        if warmup_init and not relative_step:
            raise TrainerError("Adafactor's warmup_init=True needs relative_step=True.")
        defaults = {"lr": lr, "eps": eps, "clip_threshold": clip_threshold, "decay_rate": decay_rate,
                    "beta1": beta1, "weight_decay": weight_decay, "scale_parameter": scale_parameter,
                    "relative_step": relative_step, "warmup_init": warmup_init}
        super().__init__(params, defaults)

    @staticmethod
    def _step_size(group: dict[str, Any], state: dict[str, Any]) -> float:
        lr = group["lr"]
        if group["relative_step"]:
            floor = 1e-6 * state["step"] if group["warmup_init"] else 1e-2
            lr = min(floor, 1.0 / math.sqrt(state["step"]))
        scale = max(group["eps"][1], state["RMS"]) if group["scale_parameter"] else 1.0
        return float(scale * lr)

    @staticmethod
    def _rms(tensor: torch.Tensor) -> float:
        return float(tensor.norm(2) / (tensor.numel() ** 0.5))

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise TrainerError("Adafactor does not support sparse gradients.")
                self._update(p, group)
        return loss

    def _update(self, p: torch.Tensor, group: dict[str, Any]) -> None:
        grad = p.grad
        if grad is None:  # step() passes only parameters that have a gradient
            return
        if grad.dtype in (torch.float16, torch.bfloat16):
            grad = grad.float()
        state = self.state[p]
        factored = grad.dim() >= 2
        if not state:
            state["step"] = 0
            if group["beta1"] is not None:
                state["exp_avg"] = torch.zeros_like(grad)
            if factored:
                state["exp_avg_sq_row"] = torch.zeros(grad.shape[:-1], dtype=grad.dtype, device=grad.device)
                state["exp_avg_sq_col"] = torch.zeros(grad.shape[:-2] + grad.shape[-1:], dtype=grad.dtype,
                                                      device=grad.device)
            else:
                state["exp_avg_sq"] = torch.zeros_like(grad)
            state["RMS"] = 0
        work = p.float() if p.dtype in (torch.float16, torch.bfloat16) else p
        state["step"] += 1
        state["RMS"] = self._rms(work)
        lr = self._step_size(group, state)
        beta2t = 1.0 - math.pow(state["step"], group["decay_rate"])
        update = grad**2 + group["eps"][0]
        if factored:
            row, col = state["exp_avg_sq_row"], state["exp_avg_sq_col"]
            row.mul_(beta2t).add_(update.mean(dim=-1), alpha=1.0 - beta2t)
            col.mul_(beta2t).add_(update.mean(dim=-2), alpha=1.0 - beta2t)
            # the factored estimate of 1/sqrt(second moment): rows normalised by their mean, times columns
            row_factor = (row / row.mean(dim=-1, keepdim=True)).rsqrt_().unsqueeze(-1)
            col_factor = col.unsqueeze(-2).rsqrt()
            update = torch.mul(row_factor, col_factor).mul_(grad)
        else:
            state["exp_avg_sq"].mul_(beta2t).add_(update, alpha=1.0 - beta2t)
            update = state["exp_avg_sq"].rsqrt().mul_(grad)
        update.div_(max(1.0, self._rms(update) / group["clip_threshold"]))
        update.mul_(lr)
        if group["beta1"] is not None:
            state["exp_avg"].mul_(group["beta1"]).add_(update, alpha=1 - group["beta1"])
            update = state["exp_avg"]
        if group["weight_decay"] != 0:
            work.add_(work, alpha=-group["weight_decay"] * lr)
        work.add_(-update)
        if work is not p:
            p.copy_(work)


class AdafactorSchedule(LambdaLR):
    """Reports the step size Adafactor computes itself (``relative_step=True``), for logging; as the reference."""

    def __init__(self, optimizer: Optimizer, initial_lr: float = 0.0) -> None:
        for group in optimizer.param_groups:
            group["initial_lr"] = initial_lr
        super().__init__(optimizer, _constant_one)
        for group in optimizer.param_groups:
            del group["initial_lr"]

    def get_lr(self) -> list[float]:  # type: ignore[override]  # torch's LRScheduler.get_lr takes no arguments either; its stub's return type is wider
        opt = self.optimizer
        lrs = [
            Adafactor._step_size(group, opt.state[group["params"][0]])
            for group in opt.param_groups
            if group["params"][0].grad is not None and opt.state.get(group["params"][0])
        ]
        return lrs or self.base_lrs  # type: ignore[return-value]  # torch types them float | Tensor; these are floats


def _constant_one(step: int) -> float:
    return 1.0


def get_adafactor_schedule(optimizer: Optimizer, initial_lr: float = 0.0) -> AdafactorSchedule:
    return AdafactorSchedule(optimizer, initial_lr)
