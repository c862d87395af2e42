"""Exponential moving average of a model's weights (Karras et al. 2018; Yazıcı et al. 2019).

Samples from the averaged generator are smoother and more stable than those of the raw
one. The update is one fused ``_foreach_lerp_`` over all parameters, so it costs about one
memory pass per step; buffers (BatchNorm statistics) are copied, not averaged.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True, start: int = 0):
        self.decay, self.warmup, self.start = decay, warmup, start
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self._dst_params = [p for p in self.model.parameters()]
        self._dst_buffers = [b for b in self.model.buffers()]

    def decay_at(self, step: int) -> float:
        if step < self.start:  # copy the weights until averaging starts
            return 0.0
        # Early on the average would be dominated by the random init; ramp the decay up.
        if self.warmup:
            return min(self.decay, (1 + step) / (10 + step))
        return self.decay

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        weight = 1.0 - self.decay_at(step)
        src = [p.detach() for p in model.parameters()]
        if weight >= 1.0:
            torch._foreach_copy_(self._dst_params, src)
        else:
            torch._foreach_lerp_(self._dst_params, src, weight)
        if self._dst_buffers:
            torch._foreach_copy_(self._dst_buffers, [b for b in model.buffers()])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.model.state_dict()

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state)
