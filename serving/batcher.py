"""Dynamic micro-batching: requests queue, worker threads run them in batches.

A batch closes when it holds `max_batch_size` items or `max_wait_s` after its
first item arrived. Workers are plain threads over one bounded `queue.Queue`,
so the event loop only enqueues and awaits; the batch function (tokenize + ONNX
Runtime) runs entirely off the loop. With two or more workers one batch computes
while the next one's requests travel, so the cores never wait for the network
(measured in bench/serve_load.py). An exception in one batch fails each request
in it and the loop goes on.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")


class QueueFullError(Exception):
    """The queue has no room for the request: the client should retry after `retry_after_s`."""

    def __init__(self, depth: int, retry_after_s: float) -> None:
        super().__init__(f"server busy: {depth} texts already queued; retry after {retry_after_s:.0f}s")
        self.retry_after_s = retry_after_s


class BatchError(RuntimeError):
    """The batch function failed, or returned a number of outputs different from its inputs."""


@dataclass
class Item(Generic[P, R]):
    """One payload waiting for its result."""

    payload: P
    future: Future[R] = field(default_factory=Future)
    enqueued: float = field(default_factory=time.monotonic)


def collate(q: queue.Queue, max_batch_size: int, max_wait_s: float, block_s: float = 0.1) -> list[Item]:
    """Take the next batch: wait up to `block_s` for a first item, then fill until full or `max_wait_s` passed.

    Items whose future was cancelled (their request timed out) are dropped.
    """
    batch: list[Item] = []
    try:
        first = q.get(timeout=block_s)
    except queue.Empty:
        return batch
    deadline = time.monotonic() + max_wait_s
    if first.future.set_running_or_notify_cancel():
        batch.append(first)
    while len(batch) < max_batch_size:
        remaining = deadline - time.monotonic()
        try:
            item = q.get(timeout=remaining) if remaining > 0 else q.get_nowait()
        except queue.Empty:
            break
        if item.future.set_running_or_notify_cancel():
            batch.append(item)
    return batch


def run_batch(batch: Sequence[Item[P, R]], func: Callable[[list[P]], Sequence[R]]) -> None:
    """Run `func` on the batch's payloads and settle every item's future; never raises."""
    if not batch:
        return
    try:
        results = func([item.payload for item in batch])
        if len(results) != len(batch):
            raise BatchError(f"batch function returned {len(results)} outputs for {len(batch)} inputs")
    except Exception as exc:  # one failing batch must not take the worker down
        log.exception("batch of %d failed", len(batch))
        error = exc if isinstance(exc, BatchError) else BatchError(f"inference failed: {type(exc).__name__}: {exc}")
        for item in batch:
            item.future.set_exception(error)
        return
    for item, result in zip(batch, results):
        item.future.set_result(result)


class Batcher(Generic[P, R]):
    """A bounded queue and `workers` threads that each run `func` on one batch of payloads at a time."""

    def __init__(
        self,
        func: Callable[[list[P]], Sequence[R]],
        *,
        max_batch_size: int,
        max_wait_s: float,
        max_queue: int,
        workers: int = 1,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        if max_batch_size < 1 or max_wait_s < 0 or max_queue < 1 or workers < 1:
            raise ValueError(f"bad batcher settings: {max_batch_size=}, {max_wait_s=}, {max_queue=}, {workers=}")
        self._func = func
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self._queue: queue.Queue[Item[P, R]] = queue.Queue(maxsize=max_queue)
        self._on_batch = on_batch
        self.workers = workers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def depth(self) -> int:
        """Items waiting (not counting the batch being run)."""
        return self._queue.qsize()

    def start(self) -> None:
        self._stop.clear()
        self._threads = [
            threading.Thread(target=self._loop, name=f"sftops-batcher-{i}", daemon=True) for i in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()

    def _loop(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            batch = collate(self._queue, self.max_batch_size, self.max_wait_s)
            if not batch:
                continue
            if self._on_batch is not None:
                self._on_batch(len(batch))
            run_batch(batch, self._func)

    def submit(self, payloads: Sequence[P]) -> list[Future[R]]:
        """Queue all payloads of one request, or none of them (QueueFullError) when they do not fit."""
        if self._stop.is_set() or not self._threads:
            raise QueueFullError(self.depth, retry_after_s=1)
        free = self._queue.maxsize - self._queue.qsize()
        if len(payloads) > free:
            raise QueueFullError(self.depth, retry_after_s=max(1.0, self.max_wait_s))
        items: list[Item[P, R]] = [Item(payload) for payload in payloads]
        for n, item in enumerate(items):
            try:
                self._queue.put_nowait(item)
            except queue.Full:  # a racing request took the room: withdraw what we queued
                for queued in items[:n]:
                    queued.future.cancel()
                raise QueueFullError(self.depth, retry_after_s=1) from None
        return [item.future for item in items]

    async def run(self, payloads: Sequence[P], timeout_s: float) -> list[R]:
        """Queue the payloads and await their results; on timeout the queued ones are withdrawn.

        One loop future per request, set when its last item settles: cheaper on the event loop than
        `asyncio.wrap_future` per item plus `gather` (event-loop CPU per request: bench/serve_load.py prints it).
        """
        futures = self.submit(payloads)
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        left = len(futures)

        def settled() -> None:  # on the loop
            nonlocal left
            left -= 1
            if left == 0 and not done.done():
                done.set_result(None)

        def notify(_: Future[R]) -> None:  # in the worker thread that settled the item
            if not loop.is_closed():
                loop.call_soon_threadsafe(settled)

        for f in futures:
            f.add_done_callback(notify)
        try:
            await asyncio.wait_for(done, timeout_s)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        return [f.result() for f in futures]

    def stop(self, drain_timeout_s: float = 30.0) -> bool:
        """Stop taking requests, finish what is queued (up to the timeout); True if all drained."""
        self._stop.set()
        deadline = time.monotonic() + drain_timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        drained = not any(thread.is_alive() for thread in self._threads)
        if not drained:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item.future.set_running_or_notify_cancel():
                    item.future.set_exception(BatchError("server shut down before this request ran"))
        return drained
