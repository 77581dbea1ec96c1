"""``lifecast ml train-base``: train the delight model's base weights on the project's own data.

Samples come from :func:`lifecast.ml.training_data.sample` with seeds ``seed * 10**7 + step * batch + i`` (the
evaluation seeds, :data:`lifecast.ml.evaluate.EVAL_SEED_BASE` upwards, are never drawn), made in a worker process
while the model trains. The loss is L1 on the log shading correction over covered texels. The run is a function
of the seed up to float summation order across threads.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lifecast.ml.delight import SHADING_RANGE
from lifecast.ml.features import FEATURES
from lifecast.ml.unet import UNet
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Seeds at and above this are the evaluation's; training never draws them.
TRAIN_SEED_LIMIT = 10**9
#: The painted people's skin seeds start here (above the crops' seeds).
PAINT_SEED_OFFSET = 9_000_000


@dataclass(frozen=True)
class TrainSettings:
    """A training run's settings (all recorded in the weights' metadata and the model card)."""

    steps: int = 3000
    batch: int = 8
    crop: int = 128
    width: int = 24
    lr: float = 2e-3
    seed: int = 0
    map_size: int = 1024
    people: int = 80
    min_shading: float = SHADING_RANGE[0]


class _Crops(torch.utils.data.IterableDataset[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]):
    """Batches of training crops, each a function of (seed, step)."""

    def __init__(self, cache_dir: Path, settings: TrainSettings) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self.s = settings

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        from lifecast.ml.training_data import paint, sample
        from lifecast.ml.training_meshes import training_meshes

        torch.set_num_threads(1)
        meshes = training_meshes(self.cache_dir, size=self.s.map_size)
        base = self.s.seed * 10**7
        people = paint(meshes, self.s.people, base + PAINT_SEED_OFFSET)
        for step in range(self.s.steps):
            batch = [sample(people, base + step * self.s.batch + i, self.s.crop) for i in range(self.s.batch)]
            yield (
                torch.from_numpy(np.stack([b.features for b in batch])),
                torch.from_numpy(np.stack([b.target for b in batch])),
                torch.from_numpy(np.stack([b.weight for b in batch])),
            )


@dataclass(frozen=True)
class TrainResult:
    """What a run produced: the model, its loss curve and how long it took."""

    model: UNet
    losses: list[float]
    seconds: float


def train_delight(
    cache_dir: Path, settings: TrainSettings = TrainSettings(), *, workers: int = 1, progress: ProgressFn = no_progress
) -> TrainResult:
    """Train the delight model from scratch (see the module docstring).

    Parameters
    ----------
    cache_dir
        Where the training meshes' maps are cached (:func:`lifecast.ml.training_meshes.training_meshes`).
    settings
        Steps, batch, crop, width, learning rate, seed.
    workers
        Processes making samples (0: in this process).
    progress
        Called with the fraction done and the running loss.
    """
    from lifecast.ml.training_meshes import training_meshes

    if settings.seed * 10**7 + settings.steps * settings.batch >= TRAIN_SEED_LIMIT:
        raise ValueError("the training seeds would reach the evaluation's")
    training_meshes(cache_dir, size=settings.map_size, progress=lambda f, m: progress(0.0, m))
    torch.manual_seed(settings.seed)
    model = UNet(FEATURES, 3, width=settings.width, min_shading=settings.min_shading)
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * s / settings.steps))
    )
    loader = torch.utils.data.DataLoader(
        _Crops(cache_dir, settings), batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None
    )
    losses: list[float] = []
    running = 0.0
    t0 = time.perf_counter()
    for step, (x, y, w) in enumerate(loader):
        pred = model(x)
        err = (pred - y).abs().sum(dim=1) * w
        loss = err.sum() / (3.0 * w.sum().clamp(min=1.0))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        value = float(loss.detach())
        losses.append(value)
        running = value if step == 0 else 0.98 * running + 0.02 * value
        if step % 50 == 0 or step == settings.steps - 1:
            progress((step + 1) / settings.steps, f"step {step + 1}/{settings.steps} loss {running:.4f}")
    return TrainResult(model.eval(), losses, time.perf_counter() - t0)


__all__ = ["TRAIN_SEED_LIMIT", "TrainResult", "TrainSettings", "train_delight"]
