"""Soak test of `sftops serve` under faults: steady load, champion changes, a registry outage, then kill -9.

    python bench/soak.py [--bundle models/onnx] [--seconds 180] [--swap-every 30] [--load 0.8]

1. A real `mlflow server` (own SQLite store, temp folder) holds two registered versions of one
   bundle; the server follows `@champion` with a 2 s poll, as deployed.
2. The maximum rate is measured first (closed loop, c=16); then an open-loop client sends
   requests at `--load` x that rate for `--seconds`, one tweet each, on a fixed schedule (so a
   slow server meets a growing backlog, as it would in production, instead of a slower client).
3. Every `--swap-every` s the champion alias moves to the other version (`sftops.registry.promote`,
   audited like a user's promote). Halfway, the registry is stopped for `--outage` s and restarted
   on the same port.
4. Reported: requests sent, failed (any non-200 or transport error; target 0), p50/p99 latency
   and their ratio, versions seen in answers, swaps observed, and the server's RSS at the start
   and end of the load (growth in MiB).
5. Then feedback is posted concurrently while the server is killed with SIGKILL; the server is
   restarted on the same feedback database, and every feedback row the server acknowledged
   (HTTP 200) must be in it.

Client and server share this machine's cores: figures are for the server as it runs here, with the client's
cost included; the failure counts are what matters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from serve_load import export_minilm, load, tweets  # noqa: E402

from sftops.testing.servers import free_port, mlflow_server_command, wait_http  # noqa: E402

MODEL = "soak-model"
TOKEN = "soak-feedback-token"


class Registry:
    """`mlflow server` on a fixed port that can be stopped and started again over the same store."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd, env = mlflow_server_command(self.root, self.port)
        log = open(self.root / "mlflow-server.log", "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, env=env)
        log.close()
        wait_http(f"{self.url}/health", timeout=180, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None


class SftopsServer:
    """`sftops serve --model NAME@champion` in a temp project, restartable on the same port and feedback DB."""

    def __init__(self, project: Path, registry: Registry) -> None:
        self.project, self.port = project, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "MLFLOW_TRACKING_URI": registry.url, "SFTOPS_SERVE_POLL_INTERVAL_S": "2",
                    "SFTOPS_SERVE_CACHE_DIR": str(project / "cache"), "SFTOPS_SERVE_FEEDBACK_DB": str(project / "feedback.db"),
                    "SFTOPS_SERVE_FEEDBACK_TOKEN": TOKEN}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.project / "server.log", "ab")  # noqa: SIM115 - the child owns it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sftops_serving.cli", "--model", f"{MODEL}@champion", "--port", str(self.port),
             "--params", str(self.project / "params.yaml")],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        log.close()
        wait_http(f"{self.url}/ready", timeout=180, proc=self.proc)

    def rss_mib(self) -> float:
        import psutil

        assert self.proc is not None
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)


def register_two_versions(registry: Registry, bundle: Path) -> None:
    """Versions 1 and 2 of MODEL, both carrying `bundle` (the swap exercises download, load and hot swap)."""
    from mlflow import MlflowClient

    from sftops.testing.onnx_fakes import register_bundle

    client = MlflowClient(registry.url, registry.url)
    experiment = client.create_experiment("soak")
    client.create_registered_model(MODEL)
    for _ in range(2):
        register_bundle(client, experiment, MODEL, bundle, metrics={"test_macro_f1": 0.5})
    client.set_registered_model_alias(MODEL, "champion", "1")


async def open_loop(url: str, texts: list[str], rate: float, seconds: float) -> dict[str, object]:
    """Send a request every 1/rate s for `seconds` whatever the answers do; collect status, latency and version."""
    latencies: list[float] = []
    failures: dict[str, int] = {}
    versions: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(url, connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        async def one(text: str) -> None:
            t0 = time.perf_counter()
            try:
                async with session.post("/v1/predict", json={"text": text}) as resp:
                    body = await resp.read()
                    if resp.status != 200:
                        failures[f"HTTP {resp.status}"] = failures.get(f"HTTP {resp.status}", 0) + 1
                        return
                latencies.append(time.perf_counter() - t0)
                version = str(json.loads(body)["predictions"][0].get("version"))
                versions[version] = versions.get(version, 0) + 1
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1

        tasks = []
        start = time.perf_counter()
        i = 0
        while (elapsed := time.perf_counter() - start) < seconds:
            due = int(elapsed * rate) + 1
            while i < due:
                tasks.append(asyncio.create_task(one(texts[i % len(texts)])))
                i += 1
            await asyncio.sleep(min(0.005, 1 / rate))
        await asyncio.gather(*tasks)
    q50, q99 = np.percentile(latencies, [50, 99]) * 1000 if latencies else (float("nan"),) * 2
    return {"sent": i, "ok": len(latencies), "failures": failures, "p50": q50, "p99": q99, "versions": versions}


async def post_feedback(url: str, stop: threading.Event, concurrency: int = 8) -> tuple[list[str], int]:
    """Post unique labelled texts until the server dies; return the texts it acknowledged and the attempts."""
    acked: list[str] = []
    attempts = 0
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=10)) as session:
        async def worker() -> None:
            nonlocal attempts
            while not stop.is_set():
                text = f"soak feedback {uuid.uuid4().hex} is a perfectly fine text"
                attempts += 1
                try:
                    async with session.post("/v1/feedback", json={"text": text, "label": "positive"}, headers=headers) as resp:
                        await resp.read()
                        if resp.status == 200:
                            acked.append(text)
                        elif resp.status in (401, 403, 422):
                            raise RuntimeError(f"feedback refused with HTTP {resp.status}: check the token settings")
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    return  # the server is gone

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acked, attempts


def kill_during_feedback(server: SftopsServer, after_s: float) -> dict[str, int]:
    """SIGKILL the server `after_s` into a feedback burst, restart it, and check every acknowledged row is stored."""
    from sftops.feedback import FeedbackStore

    stop = threading.Event()

    def killer() -> None:
        time.sleep(after_s)
        server.kill()
        stop.set()

    thread = threading.Thread(target=killer)
    thread.start()
    acked, attempts = asyncio.run(post_feedback(server.url, stop))
    thread.join()
    server.start()  # restarts on the same feedback database, as a supervisor would
    store = FeedbackStore(server.project / "feedback.db")
    try:
        stored = {f.text for f in store.export(0.0)}
    finally:
        store.close()
    missing = [t for t in acked if t not in stored]
    return {"attempted": attempts, "acknowledged": len(acked), "stored": len(stored), "acknowledged_missing": len(missing)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, help="serving bundle folder (default: models/onnx, else export MiniLM)")
    parser.add_argument("--seconds", type=float, default=180.0, help="seconds of load")
    parser.add_argument("--swap-every", type=float, default=30.0, help="move the champion alias this often")
    parser.add_argument("--outage", type=float, default=20.0, help="seconds the registry is down, halfway through")
    parser.add_argument("--load", type=float, default=0.8, help="fraction of the measured maximum rate")
    args = parser.parse_args()

    import yaml

    from sftops.registry import promote

    root = Path(tempfile.mkdtemp(prefix="sftops-soak-"))
    texts = tweets(2000)
    bundle = args.bundle or (ROOT / "models/onnx" if (ROOT / "models/onnx/manifest.json").is_file() else None)
    if bundle is None:
        bundle = root / "bundle"
        print(f"exporting builtin MiniLM (fresh head) to {bundle} ...", flush=True)
        export_minilm(bundle)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["registry"]["model_name"] = MODEL
    (root / "params.yaml").write_text(yaml.safe_dump(params))

    registry = Registry(root)
    registry.start()
    register_two_versions(registry, bundle)
    server = SftopsServer(root, registry)
    server.start()
    try:
        asyncio.run(load(server.url, texts, 4, 2.0))  # warm up
        peak = asyncio.run(load(server.url, texts, 16, 8.0))
        rate = args.load * peak["rps"]
        print(f"bundle {bundle}; {os.cpu_count()} CPUs; max {peak['rps']:.0f} req/s at c=16 (p50 {peak['p50']:.1f} ms); "
              f"soak at {rate:.0f} req/s for {args.seconds:.0f} s", flush=True)

        from mlflow import MlflowClient

        client = MlflowClient(registry.url, registry.url)
        outage = (args.seconds / 2 - args.outage / 2, args.seconds / 2 + args.outage / 2)
        state = {"champion": "1", "swaps": 0, "down": False, "rss": [server.rss_mib()], "events": []}

        def on_tick(elapsed: float) -> None:  # once a second in its own thread: a registry restart takes ~15 s
            state["rss"].append(server.rss_mib())
            if not state["down"] and outage[0] <= elapsed < outage[1]:
                registry.stop()
                state["down"] = True
                state["events"].append(f"{elapsed:.0f}s registry stopped")
            elif state["down"] and elapsed >= outage[1]:
                registry.start()
                state["down"] = False
                state["events"].append(f"{elapsed:.0f}s registry restarted")
            elif not state["down"] and elapsed >= (state["swaps"] + 1) * args.swap_every:
                target = "2" if state["champion"] == "1" else "1"
                promote(client, MODEL, target, reason="soak: champion change")
                state["champion"], state["swaps"] = target, state["swaps"] + 1
                state["events"].append(f"{elapsed:.0f}s champion -> {target}")

        done = threading.Event()

        def ticker() -> None:
            start = time.monotonic()
            while not done.wait(1.0):
                on_tick(time.monotonic() - start)

        thread = threading.Thread(target=ticker, daemon=True)
        thread.start()
        result = asyncio.run(open_loop(server.url, texts, rate, args.seconds))
        done.set()
        thread.join()
        if state["down"]:
            registry.start()
        health = json.loads(aiohttp_get(f"{server.url}/health"))
        failed = sum(result["failures"].values())
        rss = state["rss"]
        print("events: " + "; ".join(state["events"]))
        print(f"requests sent {result['sent']}, answered 200 {result['ok']}, failed {failed} {result['failures'] or ''}")
        print(f"latency p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, p99/p50 {result['p99'] / result['p50']:.1f}")
        print(f"versions in answers: {result['versions']}; champion moves: {state['swaps']}; health after: {health.get('status')}")
        print(f"server RSS: {rss[0]:.0f} MiB at start, {max(rss):.0f} MiB peak, {rss[-1]:.0f} MiB at end "
              f"(growth {rss[-1] - rss[0]:+.0f} MiB)")
        fb = kill_during_feedback(server, after_s=3.0)
        print(f"kill -9 during feedback: {fb['attempted']} posted, {fb['acknowledged']} acknowledged, "
              f"{fb['acknowledged_missing']} acknowledged rows missing after restart (target 0)")
    finally:
        server.stop()
        registry.stop()


def aiohttp_get(url: str) -> str:
    """One GET, synchronously (outside the load's event loop)."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


if __name__ == "__main__":
    main()
