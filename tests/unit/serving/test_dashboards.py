"""monitoring/: the Grafana dashboard and the Prometheus alert rules name only metrics the real server exports."""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from sftops.config import DriftConfig, ServeConfig
from sftops.retraining import RetrainState, save_state
from sftops.testing import make_text_dataset
from sftops.testing.asgi import run_scenario
from sftops.testing.onnx_fakes import make_mean_id_bundle
from sftops_serving.app import create_app
from sftops_serving.model_store import ModelStore
from sftops_serving.settings import load_settings

MONITORING = Path(__file__).resolve().parents[3] / "monitoring"
PROMETHEUS_OWN = {"up"}  # written by Prometheus itself for every scrape target
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
            "gauge": ("",), "summary": ("_sum", "_count", "_created")}


def _queries() -> dict[str, str]:
    """Every PromQL expression in the dashboard (panels, annotations, variables) and the alert rules, by where it is."""
    found: dict[str, str] = {}

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("expr", "definition") and isinstance(value, str):
                    found[f"{where}.{key}"] = value
                walk(value, f"{where}.{node.get('title', key)}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(json.loads((MONITORING / "grafana/sftops-dashboard.json").read_text()), "dashboard")
    rules = yaml.safe_load((MONITORING / "prometheus/alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            found[f"alert {rule['alert']}"] = rule["expr"]
    return found


def _exported(tmp_path: Path) -> tuple[dict[str, str], str]:
    """The sample names (-> their metric) a drift-monitored server with a failed retrain behind it exports, and the page."""
    bundle = make_mean_id_bundle(tmp_path / "b", max_length=64, drift_texts=list(make_text_dataset(200, seed=1)["text"]))
    save_state(tmp_path / "retrain", RetrainState(status="failed", reason="drift", finished_at=time.time()))
    serve = load_settings(ServeConfig(), feedback_db=str(tmp_path / "fb.db"), max_wait_ms=1)
    store = ModelStore.from_folder(bundle, device="cpu")
    store.load_initial()
    app = create_app(serve, store, drift_config=DriftConfig(window=100, check_every=100, min_samples=100),
                     project_dir=tmp_path)

    async def scenario(client: httpx.AsyncClient) -> str:
        assert (await client.post("/v1/predict", json={"texts": ["a fine day", "not good"]})).status_code == 200
        for _ in range(100):  # the first scrape starts reading the retrain state off the event loop
            page = (await client.get("/metrics")).text
            if "sftops_retrain_last_outcome{" in page:
                break
            await asyncio.sleep(0.05)
        return page

    page = run_scenario(app, scenario)
    return {family.name + suffix: family.name for family in text_string_to_metric_families(page)
            for suffix in SUFFIXES.get(family.type, ("",))}, page


def test_every_metric_the_dashboard_and_alerts_use_is_exported(tmp_path: Path) -> None:
    queries = _queries()
    assert len(queries) >= 30, "the dashboard or the alert rules lost their queries"
    exported, page = _exported(tmp_path)
    used = {where: set(re.findall(r"\b(sftops_[a-z0-9_]+|up)\b", expr)) for where, expr in queries.items()}
    assert all(used.values()), f"queries naming no metric: {[w for w, names in used.items() if not names]}"
    missing = {where: sorted(names - exported.keys() - PROMETHEUS_OWN) for where, names in used.items()}
    assert not any(missing.values()), f"not on /metrics: { {w: m for w, m in missing.items() if m} }"
    shown = {exported[name] for names in used.values() for name in names - PROMETHEUS_OWN}
    unshown = {m for m in exported.values() if not m.endswith("_created")} - shown  # _created: counters' start times
    assert not unshown, f"server metrics with no panel or alert: {sorted(unshown)}"
    assert 'sftops_retrain_last_outcome{reason="drift",status="failed"} 1.0' in page
    assert "sftops_retrain_running 0.0" in page and "sftops_drift_pending_alarms 0.0" in page
