"""Two server processes on one model cache: a new version arrives, both download it at once, both swap it in.

Each round starts both processes on a fresh cache folder at the same instant (a file barrier), so
both miss the cache and download version 1 concurrently (each download slowed down to the time a
real bundle takes, so the two overlap); then the alias moves to version 2 and both
check at the same instant, downloading it concurrently too. Every folder the cache handed a process
to load from must still be that folder (same inode) when everything is done: no process replaced
or deleted another's live files.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sftops.testing.polling import wait_for

_CHILD = r"""
import json, os, sys, time
from pathlib import Path
from mlflow import MlflowClient
from sftops_serving.model_store import ModelCache, ModelStore
from sftops.registry import ModelRef

uri, name, root, rounds = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])

# a real bundle (~90 MB) takes seconds to download; these tiny ones take milliseconds, so each
# download is given 0.3 s of latency: the two processes' downloads then overlap as they would
_download = MlflowClient.download_artifacts
def slow_download(self, *args, **kwargs):
    time.sleep(0.3)
    return _download(self, *args, **kwargs)
MlflowClient.download_artifacts = slow_download

# note the folder the cache handed out, the moment it did: loading starts from it right then
_fetch = ModelCache.fetch
fetched = {}
def noting_fetch(self, info, client):
    folder = _fetch(self, info, client)
    fetched[str(folder)] = (os.stat(folder).st_ino, os.stat(folder / "model.onnx").st_ino)
    return folder
ModelCache.fetch = noting_fetch

def wait_for(path):
    while not path.exists():
        time.sleep(0.001)

def describe(store):
    model = store.current
    inodes = fetched[str(model.bundle_dir)]
    return {"version": model.info.version, "folder": str(model.bundle_dir), "folder_inode": inodes[0],
            "onnx_inode": inodes[1], "label": model.runtime.predict(["hello"])[0].label}

results = []
for r in range(rounds):
    wait_for(root / f"start-{r}")
    store = ModelStore(ModelRef(name, alias="champion"), tracking_uri=uri, cache_dir=root / f"cache-{r}", device="cpu")
    store.load_initial()
    first = describe(store)
    (root / f"ready-{r}-{os.getpid()}").touch()
    wait_for(root / f"swap-{r}")
    swapped = store.check()
    results.append({"first": first, "swapped": swapped, "then": describe(store)})
    (root / f"done-{r}-{os.getpid()}").touch()
print(json.dumps(results))
"""

ROUNDS = 4


def test_two_servers_on_one_cache_both_swap_and_keep_each_others_files(registry, tmp_path: Path) -> None:
    children = [
        subprocess.Popen([sys.executable, "-c", _CHILD, registry.uri, registry.name, str(tmp_path), str(ROUNDS)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    pids = [c.pid for c in children]
    try:
        for r in range(ROUNDS):
            registry.point("champion", "1")
            (tmp_path / f"start-{r}").touch()
            wait_for(lambda r=r: all((tmp_path / f"ready-{r}-{p}").exists() for p in pids)
                     or any(c.poll() is not None for c in children), timeout=120, every=0.005, what=f"round {r} loads")
            registry.point("champion", "2")  # a new version arrives
            (tmp_path / f"swap-{r}").touch()
            wait_for(lambda r=r: all((tmp_path / f"done-{r}-{p}").exists() for p in pids)
                     or any(c.poll() is not None for c in children), timeout=120, every=0.005, what=f"round {r} swaps")
        outputs = [c.communicate(timeout=120) for c in children]
    finally:
        registry.point("champion", "1")
        for c in children:
            if c.poll() is None:
                c.kill()
                c.wait()
    for c, (_, err) in zip(children, outputs):
        assert c.returncode == 0, err[-3000:]
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]

    want_files = {v: (registry.versions[v] / "model.onnx").read_bytes() for v in ("1", "2")}
    for r in range(ROUNDS):
        rounds = [res[r] for res in results]
        assert [x["first"]["version"] for x in rounds] == ["1", "1"]
        assert [(x["swapped"], x["then"]["version"]) for x in rounds] == [(True, "2"), (True, "2")]
        assert rounds[0]["first"]["label"] == rounds[1]["first"]["label"] != rounds[0]["then"]["label"]
        assert rounds[0]["then"]["label"] == rounds[1]["then"]["label"]
        for x in rounds:  # what each process loaded from is still there, untouched by the other one
            for loaded in (x["first"], x["then"]):
                folder = Path(loaded["folder"])
                assert os.stat(folder).st_ino == loaded["folder_inode"], f"round {r}: {folder} was replaced"
                assert os.stat(folder / "model.onnx").st_ino == loaded["onnx_inode"], f"round {r}: {folder} was replaced"
        cache = tmp_path / f"cache-{r}" / registry.name
        assert sorted(p.name for p in cache.iterdir()) == ["1", "2", "aliases"]  # no temp folder left behind
        for version in ("1", "2"):
            assert (cache / version / "model.onnx").read_bytes() == want_files[version]
            assert json.loads((cache / version / "model_info.json").read_text())["version"] == version
        assert json.loads((cache / "aliases" / "champion.json").read_text()) == {"version": "2"}
