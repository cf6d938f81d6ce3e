"""What the sftops MLflow run-context plugin adds to a `start_run` + `end_run`, side by side in one run.

    python bench/mlflow_plugin_overhead.py [--n 100] [--repo PATH] [--stage train]

In a DVC repo (default: a fresh git copy of this project with a dvc.lock, as after `dvc repro`), on a local
SQLite tracking store, the same run is started and ended with the plugin off; with a provider returning the
plugin's tags ready-made (what MLflow spends writing them); on (cached, as shipped); and on without its cache
(what every run cost before the cache: two git commands, a folder walk, parsing dvc.yaml, dvc.lock and
params.yaml). The four arms alternate N times. Prints each arm's median and what it adds to "off", in
milliseconds and as a ratio. The runs carry DVC_STAGE=train (--stage ''= none, as in a notebook), so the
plugin writes a dep-hash tag per dep of that stage too.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml


def _fake_lock(repo: Path) -> None:
    """A dvc.lock with an md5 for every dep and out of every stage, as `dvc repro` would leave it."""
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]

    def entries(items: list) -> list[dict]:
        paths = [i if isinstance(i, str) else next(iter(i)) for i in items or []]
        return [{"path": p, "hash": "md5", "md5": f"{abs(hash(p)):032x}"[:32]} for p in paths]

    lock = {"schema": "2.0", "stages": {name: {"cmd": s["cmd"], "deps": entries(s.get("deps")),
                                               "outs": entries(s.get("outs"))} for name, s in stages.items()}}
    (repo / "dvc.lock").write_text(yaml.safe_dump(lock, sort_keys=False))


def _timed(start_end: Callable[[], None]) -> float:
    started = time.perf_counter()
    start_end()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="runs per arm (alternated)")
    parser.add_argument("--repo", type=Path, help="a DVC repo to run in (default: a fresh copy of this project)")
    parser.add_argument("--stage", default="train", help="DVC_STAGE for the runs ('' = none, as in a notebook)")
    args = parser.parse_args()
    rng = random.Random(0)

    import mlflow
    from mlflow.tracking.context.registry import _run_context_provider_registry as registry

    from sftops.mlflow_plugin import RACY_NS, DvcRunContextProvider, dvc_lineage_tags, find_dvc_root
    from sftops.testing.project import make_project_copy

    with tempfile.TemporaryDirectory(prefix="plugin-bench-") as tmp:
        if args.repo is None:
            repo = make_project_copy(Path(tmp) / "proj")
            _fake_lock(repo)
        else:
            repo = args.repo.resolve()
        os.chdir(repo)
        os.environ.pop("SFTOPS_STAGE", None)
        if args.stage:
            os.environ["DVC_STAGE"] = args.stage
        else:
            os.environ.pop("DVC_STAGE", None)
        time.sleep(RACY_NS / 1e9)  # files written this instant are never cached; a user's files are older
        mlflow.set_tracking_uri(f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        mlflow.set_experiment("plugin-overhead")

        ours = [p for p in registry._registry if isinstance(p, DvcRunContextProvider)]
        assert ours, "the sftops plugin is not registered: pip install -e . (entry point mlflow.run_context_provider)"
        others = [p for p in registry._registry if not isinstance(p, DvcRunContextProvider)]

        class Uncached(DvcRunContextProvider):
            def tags(self) -> dict[str, str]:
                root = find_dvc_root()
                return dvc_lineage_tags(root) if root else {}

        ready = ours[0].tags()

        class ReadyMade(DvcRunContextProvider):
            def tags(self) -> dict[str, str]:
                return dict(ready)

        arms = {"off": others, "tags ready-made": [*others, ReadyMade()], "on (cached)": [*others, ours[0]],
                "on, no cache": [*others, Uncached()]}

        def one_run() -> None:
            with mlflow.start_run():
                pass

        for providers in arms.values():  # warm up: imports, the database schema, the plugin's first (uncached) read
            registry._registry[:] = providers
            for _ in range(3):
                one_run()
        times: dict[str, list[float]] = {arm: [] for arm in arms}
        order = list(arms)
        for _ in range(args.n):
            rng.shuffle(order)  # each round in a new order: no arm always runs right after another
            for arm in order:
                registry._registry[:] = arms[arm]
                times[arm].append(_timed(one_run))
        registry._registry[:] = [*others, *ours]

        tracked = len((repo / ".git").exists() and os.popen(f"git -C {repo} ls-files").read().split())
        print(f"start_run + end_run, SQLite store, DVC_STAGE={args.stage or '(none)'} ({len(ready)} tags), repo with {tracked} tracked "
              f"files, median of {args.n} alternated runs per arm")
        base = statistics.median(times["off"])
        for arm, values in times.items():
            median = statistics.median(values)
            extra = "" if arm == "off" else f"   adds {median - base:+7.2f} ms  (x{median / base:.3f})"
            print(f"  {arm:<16} {median:7.2f} ms{extra}")
        own = statistics.median(times["on (cached)"]) - statistics.median(times["tags ready-made"])
        print(f"the plugin's own work per run (cached minus ready-made): {own:+.2f} ms")
        direct = statistics.median(_timed(lambda: ours[0].in_context() and ours[0].tags()) for _ in range(200))
        print(f"the plugin's own work per run, timed alone (in_context + tags, cached, median of 200): {direct:.2f} ms")


if __name__ == "__main__":
    main()
