"""Replicas on several machines share the feedback store and the single-retrain lock through PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from sftops.feedback import FeedbackStore
from sftops.retraining import RetrainBusy, RetrainLock, holder, is_locked
from sftops.testing.polling import wait_for

_HOLD = """
import sys, time
from sftops.retraining import RetrainBusy, RetrainLock
try:
    with RetrainLock(sys.argv[1]):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
except RetrainBusy:
    print("busy", flush=True)
"""


def _holder_process(url: str, seconds: float) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", _HOLD, url, str(seconds)], stdout=subprocess.PIPE, text=True)


def test_two_replicas_share_feedback_with_dedup(feedback_url: str) -> None:
    a, b = FeedbackStore(feedback_url), FeedbackStore(feedback_url)
    try:
        assert a.path is None
        assert a.add("great film", "positive", "3")
        assert not b.add("great film", "positive", "4")  # the same pair from another replica is kept once
        assert b.add("great film", "negative")  # same text, another label: a different pair
        cutoff = time.time()
        assert b.add("dull plot", "negative", "4")
        assert not a.add("dull plot", "negative")

        assert a.count_since(0) == b.count_since(0) == 3
        assert a.count_since(cutoff) == b.count_since(cutoff) == 1
        rows_a, rows_b = a.export(), b.export()
        assert rows_a == rows_b
        assert [(r.text, r.label, r.model_version) for r in rows_a] == [
            ("great film", "positive", "3"), ("great film", "negative", None), ("dull plot", "negative", "4"),
        ]
        assert [r.text for r in a.export(cutoff)] == ["dull plot"]
    finally:
        a.close()
        b.close()
    reopened = FeedbackStore(feedback_url)  # committed: a fresh connection (a restarted replica) sees every row
    assert reopened.count_since(0) == 3
    reopened.close()


def test_concurrent_adds_of_one_pair_store_it_once(feedback_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    stores = [FeedbackStore(feedback_url) for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        added = list(pool.map(lambda i: stores[i % 4].add(f"text {i // 8}", "positive"), range(64)))
    assert sum(added) == 8  # 8 distinct texts, each sent 8 times through 4 replicas
    assert stores[0].count_since(0) == 8
    for store in stores:
        store.close()


def test_only_one_process_gets_the_postgres_lock_and_kill_frees_it(postgres_url: str) -> None:
    assert not is_locked(postgres_url)
    first = _holder_process(postgres_url, 60)
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "held"
        assert is_locked(postgres_url)
        assert f"pid {first.pid} on " in (holder(postgres_url) or "")
        second = _holder_process(postgres_url, 0)
        out, _ = second.communicate(timeout=30)
        assert out.strip() == "busy"
        with pytest.raises(RetrainBusy, match=f"pid {first.pid}"):
            RetrainLock(postgres_url).acquire()

        os.kill(first.pid, signal.SIGKILL)  # no cleanup runs: PostgreSQL drops the lock with the session
        first.wait(timeout=10)
        wait_for(lambda: not is_locked(postgres_url), timeout=10, every=0.05, what="the lock to be free")
        assert holder(postgres_url) is None
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    with RetrainLock(postgres_url) as lock:
        assert lock.pass_fds == ()  # the pipeline child needs no descriptor: our session holds the lock
        assert is_locked(postgres_url)
    assert not is_locked(postgres_url)


def test_retrain_status_reads_the_postgres_lock(postgres_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sftops.retraining import retrain_status

    assert retrain_status(tmp_path, postgres_url)["running"] is False
    with RetrainLock(postgres_url):
        status = retrain_status(tmp_path, postgres_url)
        assert status["running"] is True
        assert f"pid {os.getpid()} on " in status["holder"]
        assert retrain_status(tmp_path)["running"] is False  # the flock file is not what is held
