"""serving/batcher.py: collate over a plain queue, per-batch error isolation, back-pressure, draining."""

from __future__ import annotations

import asyncio
import queue
import threading
import time

import pytest

from sftops_serving.batcher import Batcher, BatchError, Item, QueueFullError, collate, run_batch


def _queue_of(*payloads: object) -> queue.Queue:
    q: queue.Queue = queue.Queue()
    for p in payloads:
        q.put(Item(p))
    return q


def test_collate_closes_at_max_batch_size() -> None:
    q = _queue_of(*range(5))
    assert [i.payload for i in collate(q, max_batch_size=3, max_wait_s=1.0)] == [0, 1, 2]
    assert [i.payload for i in collate(q, max_batch_size=3, max_wait_s=0.0)] == [3, 4]
    assert collate(q, max_batch_size=3, max_wait_s=0.0, block_s=0.01) == []


def test_collate_closes_after_max_wait_with_a_partial_batch() -> None:
    q = _queue_of("a", "b")
    start = time.monotonic()
    batch = collate(q, max_batch_size=100, max_wait_s=0.05)
    assert [i.payload for i in batch] == ["a", "b"]
    assert time.monotonic() - start < 1.0


def test_collate_drops_cancelled_items_and_marks_the_rest_running() -> None:
    q = _queue_of("a", "b", "c")
    q.queue[1].future.cancel()
    batch = collate(q, max_batch_size=3, max_wait_s=0.0)
    assert [i.payload for i in batch] == ["a", "c"]
    assert all(i.future.running() for i in batch)


def test_run_batch_maps_results_in_order() -> None:
    batch = collate(_queue_of(4, 5), 2, 0.0)
    run_batch(batch, lambda xs: [2 * x + 1 for x in xs])
    assert [i.future.result() for i in batch] == [9, 11]


def test_an_exception_fails_every_request_of_that_batch() -> None:
    batch = collate(_queue_of(1, 2), 2, 0.0)
    run_batch(batch, lambda xs: 1 / 0)
    for item in batch:
        with pytest.raises(BatchError, match="ZeroDivisionError"):
            item.future.result()


def test_wrong_number_of_outputs_is_an_explicit_error() -> None:
    batch = collate(_queue_of(1, 2, 3), 3, 0.0)
    run_batch(batch, lambda xs: xs[:2])
    with pytest.raises(BatchError, match="2 outputs for 3 inputs"):
        batch[0].future.result()


def test_worker_survives_a_failing_batch_and_batches_concurrent_requests() -> None:
    sizes: list[int] = []

    def func(xs: list[str]) -> list[str]:
        if "boom" in xs:
            raise ValueError("bad payload")
        return [x.upper() for x in xs]

    batcher: Batcher[str, str] = Batcher(func, max_batch_size=8, max_wait_s=0.05, max_queue=64, on_batch=sizes.append)
    batcher.start()

    async def scenario() -> list[object]:
        first = await asyncio.gather(batcher.run(["boom"], 5), return_exceptions=True)
        rest = await asyncio.gather(*(batcher.run([f"t{i}"], 5) for i in range(8)))
        return [*first, *rest]

    results = asyncio.run(scenario())
    assert batcher.stop(5)
    assert isinstance(results[0], BatchError)
    assert results[1:] == [[f"T{i}"] for i in range(8)]
    assert sizes[0] == 1 and sum(sizes[1:]) == 8 and max(sizes[1:]) > 1


def test_full_queue_refuses_a_whole_request_and_timeouts_withdraw_it() -> None:
    gate = threading.Event()
    batcher: Batcher[int, int] = Batcher(
        lambda xs: (gate.wait(5), xs)[1], max_batch_size=1, max_wait_s=0.0, max_queue=3
    )
    batcher.start()
    blocking = batcher.submit([0])  # taken by the worker, which then waits on the gate
    deadline = time.monotonic() + 5
    while batcher.depth and time.monotonic() < deadline:
        time.sleep(0.01)
    queued = batcher.submit([1, 2])
    with pytest.raises(QueueFullError) as info:
        batcher.submit([3, 4])
    assert info.value.retry_after_s >= 1 and batcher.depth == 2

    with pytest.raises(TimeoutError):
        asyncio.run(batcher.run([5], timeout_s=0.05))
    gate.set()
    assert batcher.stop(5)
    assert [f.result() for f in blocking + queued] == [0, 1, 2]


def test_stop_drains_what_is_queued() -> None:
    batcher: Batcher[int, int] = Batcher(lambda xs: (time.sleep(0.01), xs)[1], max_batch_size=2, max_wait_s=0.0, max_queue=100)
    batcher.start()
    futures = [f for i in range(10) for f in batcher.submit([i])]
    assert batcher.stop(10)
    assert [f.result(0) for f in futures] == list(range(10))
    with pytest.raises(QueueFullError):
        batcher.submit([1])


def test_two_workers_run_two_batches_at_once_and_drain_together() -> None:
    running, peak, lock = 0, 0, threading.Lock()
    both_in = threading.Barrier(2, timeout=5)

    def func(xs: list[int]) -> list[int]:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        if xs[0] < 2:
            both_in.wait()  # the first two batches only finish when both are running at the same time
        with lock:
            running -= 1
        return [x * 10 for x in xs]

    batcher: Batcher[int, int] = Batcher(func, max_batch_size=1, max_wait_s=0.0, max_queue=16, workers=2)
    batcher.start()
    futures = [f for i in range(6) for f in batcher.submit([i])]
    assert batcher.stop(10)
    assert [f.result(0) for f in futures] == [0, 10, 20, 30, 40, 50]
    assert peak == 2


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="workers=0"):
        Batcher(lambda xs: xs, max_batch_size=1, max_wait_s=0.0, max_queue=1, workers=0)
