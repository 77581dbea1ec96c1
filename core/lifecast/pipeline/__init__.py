"""Stages, the content-hash cache and the runner (ARCHITECTURE.md boundary 5)."""

from lifecast.pipeline.runner import Runner, StageFailedError
from lifecast.pipeline.stage import ProgressFn, Stage, StageContext, no_progress, scaled_progress
from lifecast.pipeline.store import StageFile

__all__ = [
    "ProgressFn",
    "Runner",
    "Stage",
    "StageContext",
    "StageFailedError",
    "StageFile",
    "no_progress",
    "scaled_progress",
]
