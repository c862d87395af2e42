"""Training data for the GAN trainer: the dataset a config names, and resumable shuffled batches."""

from __future__ import annotations

from typing import Any

import torch

from ganstyle.errors import GanstyleError
from ganstyle.gan.config import TrainConfig


def load_training_data(cfg: TrainConfig):
    from ganstyle.data import load_dataset

    return load_dataset(cfg.data, image_size=cfg.image_size, channels=cfg.channels, cache_dir=cfg.cache_dir,
                        n=cfg.data_n, seed=cfg.seed)


class BatchSampler:
    """Shuffled epochs over an in-memory dataset, drawn by index on the data's device.

    Its whole state (generator, permutation, position) goes into checkpoints, so a resumed
    run sees exactly the batches an uninterrupted one would have seen.
    """

    def __init__(self, n: int, batch_size: int, seed: int, device: torch.device):
        if batch_size > n:
            raise GanstyleError(f"--batch-size {batch_size} is larger than the dataset ({n} samples)")
        self.n, self.batch_size, self.device = n, batch_size, device
        self.generator = torch.Generator().manual_seed(seed)
        self._new_epoch()

    def _new_epoch(self) -> None:
        self.perm = torch.randperm(self.n, generator=self.generator).to(self.device)
        self.pos = 0

    def next(self) -> torch.Tensor:
        if self.pos + self.batch_size > self.n:
            self._new_epoch()
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def state_dict(self) -> dict[str, Any]:
        return {"generator": self.generator.get_state(), "perm": self.perm.cpu(), "pos": self.pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["generator"])
        self.perm, self.pos = state["perm"].to(self.device), int(state["pos"])
