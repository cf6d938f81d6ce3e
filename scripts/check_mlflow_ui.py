"""Check what a person sees in the MLflow UI on a project's store, in a real headless browser (Debian's chromium).

    python scripts/check_mlflow_ui.py [--project .] [--store sqlite:///mlflow.db] [--out ui-check/]

Starts `mlflow server` on the store (127.0.0.1, a free port), loads three pages with
`chromium --headless --dump-dom` (and a `--screenshot` of each into --out), and asserts:
1. the experiment carries the model-training kind tag, and its link from sftops (`experiment_url`) opens on the
   training runs, not the GenAI overview (traces, token usage); the plain link's page is reported too (MLflow
   3.17 picks it by a per-browser switch, GenAI until the user flips it);
2. the runs table's Dataset column names the prepared splits (`data/prepared/...`);
3. the champion version's page starts with its readable description (decision, scores, links to runs),
   before the audit tags.
Exit code 0 when all three hold. A script, not a CI test: CI has no chromium.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mlflow import MlflowClient

from sftops.config import load_params
from sftops.testing.servers import free_port, stop_process, wait_http
from sftops.tracking import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, experiment_url

GENAI_OVERVIEW = ("Token Usage", "Tokens per Trace")  # words of the GenAI overview's charts


def browse(url: str, shot: Path, chromium: str, wait_ms: int) -> str:
    """The page's DOM after `wait_ms` of (virtual) time, with a screenshot of it saved to `shot`."""
    common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1600,1000",
              f"--virtual-time-budget={wait_ms}"]
    with tempfile.TemporaryDirectory() as profile:
        profile_arg = f"--user-data-dir={profile}"
        subprocess.run([*common, profile_arg, f"--screenshot={shot}", url], capture_output=True, timeout=180, check=False)
        dom = subprocess.run([*common, profile_arg, "--dump-dom", url], capture_output=True, text=True, timeout=180)
    return dom.stdout


def _visible_text(dom: str) -> str:
    """The page's text in reading order: scripts and styles dropped, tags removed, whitespace collapsed."""
    dom = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", dom)).split())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, default=Path("."), help="the project folder (its params.yaml names experiment and model)")
    parser.add_argument("--store", help="backend store URI (default: the project's sqlite:///mlflow.db)")
    parser.add_argument("--out", type=Path, default=Path("ui-check"), help="folder for screenshots and DOM dumps")
    parser.add_argument("--wait-ms", type=int, default=20000, help="virtual time each page gets to render")
    args = parser.parse_args(argv)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium not found: apt-get install -y chromium", file=sys.stderr)
        return 2
    project = args.project.resolve()
    params = load_params(project / "params.yaml")
    store = args.store or f"sqlite:///{project / 'mlflow.db'}"
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store, "--host", "127.0.0.1",
           "--port", str(port), "--workers", "1"]
    env = {**os.environ, "MLFLOW_TRACKING_URI": "", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # no GenAI job runner
    with (args.out / "mlflow-server.log").open("wb") as log:
        server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=project, env=env)
        try:
            wait_http(f"{url}/health", timeout=120, proc=server)
            return _check(MlflowClient(url), url, params.tracking.experiment, params.registry.model_name, chromium, args)
        finally:
            stop_process(server, timeout=20)


def _check(client: MlflowClient, url: str, experiment_name: str, model: str, chromium: str, args: argparse.Namespace) -> int:
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        print(f"no experiment {experiment_name!r} in the store: run `dvc repro` first", file=sys.stderr)
        return 2
    champion = client.get_model_version_by_alias(model, "champion")
    results: list[tuple[str, bool, str]] = []

    plain = browse(f"{url}/#/experiments/{experiment.experiment_id}", args.out / "experiment-plain.png", chromium,
                   args.wait_ms)
    page = browse(experiment_url(url, experiment.experiment_id), args.out / "experiment.png", chromium, args.wait_ms)
    (args.out / "experiment.html").write_text(page)
    runs = [r.info.run_name for r in client.search_runs([experiment.experiment_id], max_results=50)]
    shown = sorted({name for name in runs if name and f">{name}<" in page})
    genai = [word for word in GENAI_OVERVIEW if word in page]
    kind = experiment.tags.get(EXPERIMENT_KIND_TAG)
    plain_genai = [word for word in GENAI_OVERVIEW if word in plain]
    results.append(("experiment opens on its training runs", kind == EXPERIMENT_KIND and bool(shown) and not genai,
                    f"kind tag {kind!r}; run names on the page: {shown[:6]}; GenAI overview words: {genai}; "
                    f"(the plain link in a fresh browser shows GenAI words {plain_genai})"))

    datasets = sorted({s for s in ("data/prepared/train", "data/prepared/validation", "data/prepared/test") if s in page})
    results.append(("runs table shows the datasets", bool(datasets), f"dataset names on the page: {datasets}"))

    version_page = browse(f"{url}/#/models/{model}/versions/{champion.version}", args.out / "version.png", chromium,
                          args.wait_ms)
    (args.out / "version.html").write_text(version_page)
    text = _visible_text(version_page)
    headline = " ".join((champion.description or "").split("\n\n")[0].replace("**", "").split()[:4])
    at_description = text.find(headline) if headline else -1
    at_audit = text.find("sftops.audit.")
    readable_first = at_description >= 0 and (at_audit < 0 or at_description < at_audit)
    results.append(("version page starts with the readable description", readable_first,
                    f"version {champion.version}: {headline!r} at text offset {at_description}, first audit tag at {at_audit}; "
                    f"run links on the page: {version_page.count('#/runs/')}"))

    for what, ok, detail in results:
        print(f"{'PASS' if ok else 'FAIL'}  {what}: {detail}")
    print(f"screenshots and DOM dumps in {args.out}/")
    return 0 if all(ok for _, ok, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
