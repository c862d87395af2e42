"""Data-parallel training under PyTorch's own launcher (``torchrun``).

    torchrun --nproc_per_node 2 -m ganstyle train --data digits --model dcgan --out runs/digits

A process started by ``torchrun`` finds ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and
``MASTER_ADDR``/``MASTER_PORT`` in its environment; :func:`setup` then joins the process
group (NCCL on GPUs, gloo on CPUs) and returns a :class:`Distributed` describing this
process. Without those variables it returns a world of one and nothing changes, so the
trainers call the same hooks in both cases.

Semantics (the same for the GAN trainer and style training):

- ``--batch-size`` is the *global* batch: every process computes ``batch_size / world``
  samples and DDP averages the gradients, so N processes x B/N samples make the same
  update as one process with B samples (exactly, up to float summation order, for models
  without batch norm).
- Every process draws the random numbers of the *whole* batch (data indices, latents,
  interpolation weights, crops) from the same seeded streams and keeps its own slice.
  That is what makes the equivalence above exact, and it keeps the data order of a run
  independent of the number of processes, so ``--resume`` may use another world size.
- Randomness that is private to a process (the default torch/numpy/python generators,
  e.g. dropout) is seeded per rank from the run seed: rank 0 keeps the run's own stream,
  rank r > 0 uses ``SeedSequence([seed, r, step])``.
- Only rank 0 writes files (checkpoints, samples, logs, config); logged metrics are
  averaged over all ranks first. Checkpoints hold rank 0's state, which is the state of
  every rank for everything shared, so they load into any world size.
"""

from __future__ import annotations

import atexit
import contextlib
import inspect
import os
import random
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ganstyle.errors import GanstyleError

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")


def launched_by_torchrun() -> bool:
    return all(v in os.environ for v in TORCHRUN_VARS)


def is_main_process() -> bool:
    """Rank 0, or no torchrun at all: the process that talks to the user."""
    return int(os.environ.get("RANK", "0")) == 0


@dataclass
class Distributed:
    """This process's place in the job; a world of one when not launched by torchrun."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    _control: object = field(default=None, repr=False)  # gloo group for CPU-side votes (None: the default group)
    _pending_vote: tuple | None = field(default=None, repr=False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    # ---------------------------------------------------------------- batches

    def local_batch(self, global_batch: int, flag: str = "--batch-size") -> int:
        """Samples per process for a global batch; it must split evenly."""
        if global_batch % self.world:
            lower = global_batch - global_batch % self.world
            raise GanstyleError(
                f"{flag} {global_batch}: the global batch must split evenly over the {self.world} processes "
                f"(use a multiple of {self.world}, e.g. {max(lower, self.world)})")
        return global_batch // self.world

    def shard(self, batch: torch.Tensor | None) -> torch.Tensor | None:
        """This rank's contiguous slice of a global batch (dim 0)."""
        if batch is None or self.world == 1:
            return batch
        n = self.local_batch(batch.shape[0])
        return batch[self.rank * n:(self.rank + 1) * n]

    # ---------------------------------------------------------------- models

    def wrap(self, module: nn.Module, *, compile: bool = False) -> nn.Module:
        """The module to call in training steps: DDP across processes, optionally compiled.

        The plain module stays the one to save, average (EMA) and differentiate twice
        (gradient penalties): parameters are shared, so its gradients still go through
        DDP's averaging when the step's ``backward`` runs.
        """
        train_module = module
        if self.enabled and any(p.requires_grad for p in module.parameters()):
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            # Buffers (batch-norm running statistics) stay per rank: training uses batch
            # statistics, and checkpoints take rank 0's, so syncing them each step buys nothing.
            no_buffer_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(DDP).parameters
                              else {"broadcast_buffers": False})  # the older spelling
            train_module = DDP(module, device_ids=ids, output_device=ids[0] if ids else None, **no_buffer_sync)
        if compile:
            # Shapes never change during training; dynamic=False is also what works on CPU.
            train_module = torch.compile(train_module, dynamic=False)
        return train_module

    def convert_sync_batchnorm(self, module: nn.Module) -> nn.Module:
        """Batch statistics over the global batch instead of each process's slice (GPU only)."""
        if not self.enabled:
            return module
        if self.device.type != "cuda":
            raise GanstyleError("--sync-bn: PyTorch's SyncBatchNorm needs CUDA devices; on CPU leave it off "
                                "(each process then normalises over its own slice of the batch)")
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)

    # ---------------------------------------------------------------- collectives

    def mean_(self, tensors: Sequence[torch.Tensor]) -> None:
        """Average same-shaped scalars over ranks, in place, with one all-reduce."""
        if not self.enabled or not tensors:
            return
        import torch.distributed as dist

        flat = torch.stack([t.detach().float().reshape(()) for t in tensors])
        dist.all_reduce(flat)
        flat /= self.world
        for t, v in zip(tensors, flat):
            t.copy_(v)

    def agree_to_stop(self, requested: bool) -> bool:
        """Every rank gets the same answer at the same step, one step after a request.

        A vote is started each step and read the next, so it never blocks on the GPU;
        a request seen by any rank (torchrun forwards Ctrl-C to all of them) stops all.
        """
        if not self.enabled:
            return requested
        import torch.distributed as dist

        decided = False
        if self._pending_vote is not None:
            work, flag = self._pending_vote
            work.wait()
            decided = bool(flag.item())
        flag = torch.tensor([int(requested)], dtype=torch.int32)
        work = dist.all_reduce(flag, op=dist.ReduceOp.MAX, group=self._control, async_op=True)
        self._pending_vote = (work, flag)
        return decided

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier(group=self._control)

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Rank 0 runs the block first (downloads, cache files), the others after it."""
        if not self.is_main:
            self.barrier()
        yield
        if self.is_main:
            self.barrier()

    # ---------------------------------------------------------------- seeds

    def seed_private_rngs(self, seed: int, step: int = 0) -> None:
        """Per-rank default generators: rank 0 keeps the run's stream, others derive one."""
        if self.rank == 0:
            return
        s = np.random.SeedSequence([seed, self.rank, step]).generate_state(2, dtype=np.uint32)
        derived = int(s[0]) << 32 | int(s[1])
        random.seed(derived)
        np.random.seed(int(s[0]))
        torch.manual_seed(derived)


_CONTEXT: Distributed | None = None


def setup(device: torch.device) -> Distributed:
    """Join the torchrun job once per process (no-op outside torchrun) and return this rank.

    ``device`` is the one the user asked for; under torchrun any CUDA device becomes
    ``cuda:LOCAL_RANK``, so one command line serves every process (restrict the GPUs a
    machine uses with ``CUDA_VISIBLE_DEVICES``).
    """
    global _CONTEXT
    if _CONTEXT is not None:  # a second run in the same torchrun process
        if _CONTEXT.device.type != device.type:
            raise GanstyleError(f"--device {device}: this process group was started for {_CONTEXT.device.type}")
        return _CONTEXT
    if not launched_by_torchrun() or int(os.environ["WORLD_SIZE"]) == 1:
        return Distributed(device=device)

    import torch.distributed as dist

    rank, world, local_rank = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise GanstyleError(f"torchrun started {local_rank + 1}+ processes on this machine but only "
                                f"{torch.cuda.device_count()} GPU(s) are visible; lower --nproc_per_node")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise GanstyleError(f"--device {device}: distributed training supports cuda (NCCL) and cpu (gloo)")
    if not dist.is_initialized():
        kwargs = {"device_id": device} if backend == "nccl" else {}
        dist.init_process_group(backend, **kwargs)
        atexit.register(_teardown)
    control = dist.new_group(backend="gloo") if backend != "gloo" else None
    _CONTEXT = Distributed(rank=rank, world=world, local_rank=local_rank, device=device, _control=control)
    return _CONTEXT


def _teardown() -> None:
    import torch.distributed as dist

    global _CONTEXT
    if _CONTEXT is not None and _CONTEXT._pending_vote is not None:
        _CONTEXT._pending_vote[0].wait()
    _CONTEXT = None
    if dist.is_initialized():
        dist.destroy_process_group()


@contextlib.contextmanager
def swapped(obj: object, name: str, value: object) -> Iterator[None]:
    """Temporarily set ``obj.name`` (e.g. a method object's network to its DDP wrapper)."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def pin_to_device(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Host-to-GPU copy through pinned memory, overlapping with the running kernels."""
    if device.type != "cuda":
        return batch.to(device)
    return batch.pin_memory().to(device, non_blocking=True)
