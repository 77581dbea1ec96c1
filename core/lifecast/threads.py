"""CPU threads: how many this process may use, and a timed choice of torch's thread count for small solves.

Importing this module does not import torch (the bake's writers and ray tracers use :func:`available_cpus`).

:func:`available_cpus` counts the CPUs this process may run on (its affinity mask, which a farm worker
or a container narrows), not the machine's: the count the ray tracers and the EXR writer are given.

:class:`ThreadTrial` exists for loops of many tiny torch operations, such as the wrap's conjugate
gradients (about 10^4 unknowns, a few dozen microseconds per operation). Each operation above torch's
grain size is an OpenMP parallel region that ends at a barrier. On a quiet machine two threads make a
wrap faster (2.46-2.55 s against 3.28-3.65 s on one, best of two, on the 2-core CI machine), but while other
processes hold the cores each barrier waits for a descheduled thread: with two busy processes beside it the same
wrap took 8.7-20.0 s on two threads and 7.0-7.2 s on one (BENCHMARKS.md, "Torch threads on a busy machine",
runs A and B). The trial keeps
timing blocks of the loop's iterations on each candidate count and runs on the faster, so a quiet
machine keeps its speed and a loaded one (an artist's workstation, a farm node running several tasks)
avoids the cliff. Results differ between thread counts only by floating-point summation order.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager


def available_cpus() -> int:
    """CPUs this process may run on: its affinity mask where the platform has one, else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with torch's intra-op thread count set to ``count``; the previous count is restored."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


#: A count not in use is tried again after at most this many times ``retry`` blocks.
MAX_RETRY_FACTOR = 32


class ThreadTrial:
    """Runs a loop of tiny torch operations on whichever torch thread count is currently the faster.

    Call :meth:`tick` at the top of every iteration, inside :meth:`running`. Iterations run in blocks of
    ``block``; each block's wall time per iteration updates an estimate for the count it ran on (for the
    count in use an exponential average, weight ``smoothing`` on the newest block, so one block that lost
    its timeslice does not decide alone; a count tried after a pause takes its new time), and the next
    block runs on the count in use unless another's estimate is lower by ``margin``.

    A count without an estimate is tried first. A count not in use is tried again after ``retry`` blocks,
    twice as many each time it has lost (at most :data:`MAX_RETRY_FACTOR` times ``retry``), so the choice
    follows the machine's load as it changes without paying often for a count that stays slow; a try that
    is already twice as slow as the best estimate ends early. Estimates carry over from one loop to the next
    (one trial per wrap serves its ten solves). With a single candidate nothing is timed.

    Parameters
    ----------
    candidates
        Thread counts to choose from, the preferred first; default: torch's current count and 1 (just the
        current count when that is already 1).
    block
        Iterations per timed block.
    retry
        Blocks before a count not in use is tried again (doubled each time it loses).
    smoothing
        Weight of the newest block in a count's estimate.
    margin
        How much lower (a fraction) another count's estimate must be to replace the count in use, so that
        timing noise on a quiet machine does not move the loop to a count that is no faster.
    clock, set_threads, get_threads
        The timer and the thread count's setter and getter (default: torch's; replaceable for tests).
    """

    def __init__(
        self,
        candidates: Sequence[int] | None = None,
        *,
        block: int = 5,
        retry: int = 8,
        smoothing: float = 0.5,
        margin: float = 0.15,
        clock: Callable[[], float] = time.perf_counter,
        set_threads: Callable[[int], None] | None = None,
        get_threads: Callable[[], int] | None = None,
    ) -> None:
        if block < 1 or retry < 1:
            raise ValueError(f"block and retry must be at least 1, got {block} and {retry}")
        if not 0.0 < smoothing <= 1.0:
            raise ValueError(f"smoothing must lie in (0, 1], got {smoothing}")
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"margin must lie in [0, 1), got {margin}")
        if set_threads is None or get_threads is None:
            import torch

            set_threads = set_threads or torch.set_num_threads
            get_threads = get_threads or torch.get_num_threads
        if candidates is None:
            current = get_threads()
            candidates = (current, 1) if current > 1 else (current,)
        if not candidates or min(candidates) < 1:
            raise ValueError(f"thread counts must be positive, got {list(candidates)}")
        self.candidates = tuple(dict.fromkeys(int(c) for c in candidates))
        self.block = block
        self.retry = retry
        self.smoothing = smoothing
        self.margin = margin
        self._clock = clock
        self._set = set_threads
        self._get = get_threads
        #: Estimated seconds per iteration of each count tried so far.
        self.estimates: dict[int, float] = {}
        #: Iterations run on each count (for logs and benchmarks).
        self.iterations: dict[int, int] = dict.fromkeys(self.candidates, 0)
        self._current = self.candidates[0]
        self._preferred = self.candidates[0]
        self._trying = False  # the current block tries a count that is not the preferred one
        self._idle = dict.fromkeys(self.candidates, 0)  # blocks since each count last ran
        self._wait = dict.fromkeys(self.candidates, retry)  # blocks before each count is tried again
        self._in_block = 0
        self._start = 0.0

    @contextmanager
    def running(self) -> Iterator[ThreadTrial]:
        """Scope of one loop (a single candidate is set for all of it): the caller's thread count is restored
        when it ends (a partly run block is not counted)."""
        previous = self._get()
        self._in_block = 0
        if len(self.candidates) == 1:
            self._set(self._current)
        try:
            yield self
        finally:
            self._set(previous)

    def tick(self) -> None:
        """Called before each iteration of the loop."""
        if len(self.candidates) == 1:
            self.iterations[self._current] += 1
            return
        now = self._clock()
        if self._in_block == self.block or (self._in_block and self._trying and self._hopeless(now)):
            self._measured((now - self._start) / self._in_block)
            self._in_block = 0
        if self._in_block == 0:
            self._start_block(now)
        self._in_block += 1
        self.iterations[self._current] += 1

    @property
    def preferred(self) -> int:
        """The count in use between tries: the first candidate, until another's estimate beats it by ``margin``."""
        return self._preferred

    def _hopeless(self, now: float) -> bool:
        """The count being tried already took twice the best estimate of a whole block."""
        best = min(self.estimates.values(), default=None)
        return best is not None and now - self._start > 2.0 * self.block * best

    def _measured(self, seconds: float) -> None:
        before = self.preferred
        old = self.estimates.get(self._current)
        # A count tried again after a pause starts afresh (its old estimate is stale); the count in use
        # averages its consecutive blocks.
        if old is not None and not self._trying:
            seconds = old + self.smoothing * (seconds - old)
        self.estimates[self._current] = seconds
        lowest = min(self.estimates, key=self.estimates.__getitem__)
        held = self.estimates.get(self._preferred)
        if held is None or self.estimates[lowest] < (1.0 - self.margin) * held:
            self._preferred = lowest
        after = self.preferred
        # A count that loses (a try that does not win, or the count in use overtaken) waits twice as long
        # before its next try: on a loaded machine a lucky block of the slow count must not buy it more
        # blocks often.
        loser = before if after != before else self._current if self._trying else None
        if loser is not None:
            self._wait[loser] = min(2 * self._wait[loser], MAX_RETRY_FACTOR * self.retry)

    def _start_block(self, now: float) -> None:
        untried = [c for c in self.candidates if c not in self.estimates]
        best = self.preferred
        due = [c for c in self.candidates if c != best and self._idle[c] >= self._wait[c]]
        count = untried[0] if untried else due[0] if due else best
        self._trying = bool(self.estimates) and count != best
        for other in self.candidates:
            self._idle[other] = 0 if other == count else self._idle[other] + 1
        self._current = count
        self._set(count)
        self._start = now
