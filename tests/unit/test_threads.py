"""The timed choice of torch's thread count (lifecast.threads.ThreadTrial) on a simulated clock."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from lifecast.threads import ThreadTrial, available_cpus, torch_threads
from lifecast.wrap.nonrigid import conjugate_gradients


class _Machine:
    """A simulated clock and thread setting: each iteration costs ``cost(threads, iteration)`` seconds."""

    def __init__(self, threads: int = 2) -> None:
        self.now = 0.0
        self.threads = threads
        self.sets: list[int] = []

    def clock(self) -> float:
        return self.now

    def set_threads(self, count: int) -> None:
        self.threads = count
        self.sets.append(count)

    def trial(self, **kwargs: object) -> ThreadTrial:
        return ThreadTrial(
            (2, 1), clock=self.clock, set_threads=self.set_threads, get_threads=lambda: self.threads, **kwargs
        )

    def run(self, trial: ThreadTrial, iterations: int, cost: dict[int, float]) -> list[int]:
        """Run a loop; returns the thread count of every iteration."""
        used = []
        with trial.running():
            for _ in range(iterations):
                trial.tick()
                used.append(self.threads)
                self.now += cost[self.threads]
        return used


def test_a_quiet_machine_keeps_its_threads() -> None:
    machine = _Machine()
    trial = machine.trial()
    used = machine.run(trial, 130, {2: 1e-3, 1: 1.8e-3})
    assert trial.preferred == 2
    # One block tries the single thread; after that it is tried again only every `retry` blocks, and less
    # often each time it loses.
    assert used.count(1) <= 2 * trial.block + 1
    assert trial.estimates[2] == pytest.approx(1e-3)
    assert trial.estimates[1] == pytest.approx(1.8e-3)
    assert machine.threads == 2  # the caller's count is back


def test_a_loaded_machine_runs_on_one_thread_and_seldom_tries_two() -> None:
    machine = _Machine()
    trial = machine.trial()
    used = machine.run(trial, 1300, {2: 40e-3, 1: 2.5e-3})
    assert trial.preferred == 1
    # Each try of two threads stops once it took twice the best block (a single 40 ms iteration here), and
    # the pause between tries doubles after every loss: a handful of tries over 1300 iterations.
    tries = sum(1 for a, b in itertools.pairwise(used) if a == 1 and b == 2)
    assert tries <= 6
    assert used.count(2) <= trial.block + tries
    assert machine.threads == 2


def test_the_choice_follows_a_change_of_load_and_carries_over_between_loops() -> None:
    machine = _Machine()
    trial = machine.trial()
    machine.run(trial, 200, {2: 1e-3, 1: 1.8e-3})
    assert trial.preferred == 2
    used = machine.run(trial, 400, {2: 20e-3, 1: 2.5e-3})  # other work takes the cores
    assert trial.preferred == 1
    assert used[-100:].count(1) >= 90
    used = machine.run(trial, 2000, {2: 1e-3, 1: 1.8e-3})  # and leaves again
    assert trial.preferred == 2
    assert used[-100:].count(2) >= 90


def test_a_count_no_faster_by_the_margin_does_not_take_over() -> None:
    machine = _Machine()
    trial = machine.trial(margin=0.15)
    used = machine.run(trial, 500, {2: 1e-3, 1: 0.95e-3})  # one thread 5 % faster: within timing noise
    assert trial.preferred == 2
    assert used[-50:].count(2) >= 45
    used = machine.run(trial, 500, {2: 1e-3, 1: 0.5e-3})  # one thread twice as fast: it takes over
    assert trial.preferred == 1
    assert used[-50:].count(1) >= 45


def test_a_single_candidate_is_never_timed() -> None:
    machine = _Machine(threads=4)
    trial = ThreadTrial(
        (1,), clock=lambda: pytest.fail("timed"), set_threads=machine.set_threads, get_threads=lambda: machine.threads
    )
    with trial.running():
        for _ in range(20):
            trial.tick()
    assert trial.iterations == {1: 20}
    assert machine.sets == [1, 4]  # set once for the loop, then restored


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        ThreadTrial((2, 0))
    with pytest.raises(ValueError, match="block"):
        ThreadTrial((2, 1), block=0)
    with pytest.raises(ValueError, match="smoothing"):
        ThreadTrial((2, 1), smoothing=0.0)
    with pytest.raises(ValueError, match="margin"):
        ThreadTrial((2, 1), margin=1.0)


def test_conjugate_gradients_with_a_trial_solve_the_same_system() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 300))
    spd = torch.as_tensor(a @ a.T + 300 * np.eye(300))
    rhs = torch.as_tensor(rng.normal(size=(100, 3)))

    def apply(x: torch.Tensor) -> torch.Tensor:
        return (spd @ x.reshape(-1)).reshape(100, 3)

    plain = conjugate_gradients(apply, rhs, torch.zeros_like(rhs), lambda r: r / 300.0, 60, tol=0.0)
    with torch_threads(2):
        trial = ThreadTrial((2, 1), block=2)
        timed = conjugate_gradients(apply, rhs, torch.zeros_like(rhs), lambda r: r / 300.0, 60, tol=0.0, trial=trial)
        assert torch.get_num_threads() == 2
    assert sum(trial.iterations.values()) == 60 and trial.iterations[1] > 0
    torch.testing.assert_close(timed, plain, rtol=1e-10, atol=1e-12)


def test_available_cpus_is_the_affinity_mask(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    count = available_cpus()
    assert 1 <= count <= (os.cpu_count() or count)
    if hasattr(os, "sched_getaffinity"):
        assert count == len(os.sched_getaffinity(0))
        # A farm worker pinned to one CPU of a larger machine gets one, whatever os.cpu_count() says.
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3})
        monkeypatch.setattr(os, "cpu_count", lambda: 64)
        assert available_cpus() == 1
