"""sftops_serving.monitor.ServingMonitor (serving/monitor.py): gauges, background checks, saved drift status, the alarm hook, hot swap."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from sftops.config import DriftConfig
from sftops.drift import Observations, ReferenceProfile
from sftops.testing.polling import wait_for
from sftops_serving.monitor import STATUS_TTL_S, ServingMonitor

LABELS = ["negative", "neutral", "positive"]
CFG = DriftConfig(window=150, check_every=50, min_samples=100, p_value=0.05, mmd_permutations=199, min_check_interval_s=0)


def _batch(rng: np.random.Generator, n: int, shift: float = 0.0) -> Observations:
    logits = rng.normal(size=(n, 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return Observations(rng.normal(size=(n, 8)) + shift, probs, rng.poisson(20, n), rng.binomial(1, 0.05, n))


def _profile(rng: np.random.Generator) -> ReferenceProfile:
    b = _batch(rng, 800)
    return ReferenceProfile(b.embeddings, np.bincount(b.probs.argmax(1), minlength=3), b.probs.max(1),
                            b.n_tokens, int((b.n_unknown > 0).sum()), 800)


def _gauge(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_checks_run_in_the_background_publish_gauges_and_fire_on_alarm(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    registry = CollectorRegistry()
    alarms = []
    monitor = ServingMonitor(CFG, registry=registry, project_dir=tmp_path, on_alarm=alarms.append)
    monitor.set_reference(_profile(rng), LABELS, version="3")
    try:
        for _ in range(3):
            monitor.observe(_batch(rng, 50))  # checks at 100 (min_samples) and 150 texts, in the background
        deadline = time.monotonic() + 60  # generous: 2 shared cores
        status_file = tmp_path / "retrain/drift_status.json"  # written by every check that saw min_samples texts

        def checked_window() -> int:
            return json.loads(status_file.read_text())["window_size"] if status_file.exists() else 0

        while checked_window() < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gauge(registry, "sftops_drift_alarm") == 0 and not alarms
        assert _gauge(registry, "sftops_drift_window_size") == 150
        assert 0 < _gauge(registry, "sftops_drift_p_value", detector="embedding") <= 1
        saved = json.loads((tmp_path / "retrain/drift_status.json").read_text())
        assert saved["state"] == "ok" and saved["model_version"] == "3"

        # the shifted texts make the background thread check again; waiting for its alarm (not racing it with a
        # check_now here, whose alarm the background one could follow) keeps the order of the alarms known
        monitor.observe(_batch(rng, 150, shift=1.0))
        wait_for(lambda: bool(alarms), timeout=60, what="the background check's drift alarm")
        report = alarms[0]
        assert report.alarm and report.window_size == 150
        assert _gauge(registry, "sftops_drift_alarm") == 1
        assert _gauge(registry, "sftops_drift_p_value", detector="embedding") < CFG.detector_alpha
        status = monitor.status()
        assert (status.report.state, status.alarm, status.model_version, status.window) == ("alarm", True, "3", 150)
        assert status.report.detectors["embedding"].p_value < CFG.detector_alpha
        assert status.retrain.status is None and status.retrain.running is False
    finally:
        monitor.close()


def test_a_hot_swap_starts_a_fresh_window(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    monitor = ServingMonitor(CFG, registry=CollectorRegistry(), project_dir=tmp_path, on_alarm=lambda r: None)
    monitor.set_reference(_profile(rng), LABELS, version="3")
    monitor.observe(_batch(rng, 120, shift=1.0))
    monitor.set_reference(_profile(rng), LABELS, version="4")
    assert (monitor.status().observed, monitor.status().model_version) == (0, "4")
    assert monitor.check_now().state == "warming_up"
    monitor.close()


def test_observe_predictions_reads_runtime_predictions_in_label_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    monitor = ServingMonitor(CFG, registry=CollectorRegistry(), project_dir=tmp_path)
    monitor.set_reference(_profile(rng), LABELS, version="1")
    preds = [SimpleNamespace(probabilities={"positive": 0.7, "negative": 0.1, "neutral": 0.2},
                             embedding=np.zeros(8, np.float32), n_tokens=12, n_unknown=1)] * 4
    monitor.observe_predictions(preds)
    assert monitor.status().observed == 4
    monitor.observe_predictions(preds, version="0")  # a batch of the version before a hot swap
    assert monitor.status().observed == 4
    window_counts = monitor._monitor._counts.snapshot()  # one-hot rows of the predicted label
    assert window_counts.argmax(1).tolist() == [2, 2, 2, 2] and window_counts.sum() == 4
    monitor.close()


def test_disabled_monitor_observes_nothing(tmp_path: Path) -> None:
    monitor = ServingMonitor(DriftConfig(enabled=False), registry=CollectorRegistry(), project_dir=tmp_path)
    monitor.set_reference(_profile(np.random.default_rng(3)), LABELS, version="1")
    monitor.observe(_batch(np.random.default_rng(4), 10))
    status = monitor.status()
    assert (status.enabled, status.monitoring, status.model_version, status.observed, status.report) == (
        False, False, None, 0, None)
    assert "drift.enabled: false" in status.detail


def test_checks_that_fall_due_quickly_coalesce_to_one_per_interval(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    registry = CollectorRegistry()
    cfg = CFG.model_copy(update={"min_check_interval_s": 1.0})
    monitor = ServingMonitor(cfg, registry=registry, project_dir=tmp_path, on_alarm=lambda report: None)
    monitor.set_reference(_profile(rng), LABELS, version="1")

    def checks_reach(n: int) -> float:
        deadline = time.monotonic() + 30
        while (_gauge(registry, "sftops_drift_checks_total") or 0) < n and time.monotonic() < deadline:
            time.sleep(0.005)
        assert _gauge(registry, "sftops_drift_checks_total") == n
        return time.monotonic()

    try:
        monitor.observe(_batch(rng, 50))  # a check_every boundary: the first check runs at once
        first = checks_reach(1)
        for _ in range(6):  # six more boundaries within milliseconds
            monitor.observe(_batch(rng, 50))
        second = checks_reach(2)
        assert second - first >= 0.8  # waited for the interval (measured from the first check's start)
        time.sleep(1.5)
        assert _gauge(registry, "sftops_drift_checks_total") == 2  # the six became one check
    finally:
        monitor.close()


# --- alarms are events: journaled, consumed by a retrain, suppressed by the cooldown ---------------------------


def _project_monitor(tmp_path: Path, *, params_file: Path | None, seed: int) -> tuple[ServingMonitor, np.random.Generator]:
    """A monitor in a retrain project (its drift.retrain settings), journaling alarms in the project's feedback db."""
    from sftops.config import load_params

    retrain_cfg = load_params(tmp_path / "params.yaml").drift.retrain
    rng = np.random.default_rng(seed)
    cfg = CFG.model_copy(update={"retrain": retrain_cfg, "check_every": 100_000})  # checks only when the test says
    monitor = ServingMonitor(cfg, registry=CollectorRegistry(), project_dir=tmp_path, params_file=params_file)
    monitor.set_reference(_profile(rng), LABELS, version="3")
    return monitor, rng


def _alarm_then_quiet(monitor: ServingMonitor, rng: np.random.Generator) -> None:
    monitor.observe(_batch(rng, 150, shift=1.0))
    assert monitor.check_now().alarm
    monitor.observe(_batch(rng, 150))  # traffic back to normal: the whole window is in-distribution again
    assert monitor.check_now().state == "ok"


def test_a_quiet_check_after_an_alarm_cannot_cancel_the_retrain_the_server_started(tmp_path: Path) -> None:
    from sftops.retraining import AlarmJournal, load_state
    from sftops.testing.retrain_project import make_retrain_project, retrain_runs

    params_file = make_retrain_project(tmp_path, min_feedback=None)  # only the drift alarm can trigger
    monitor, rng = _project_monitor(tmp_path, params_file=params_file, seed=5)
    try:
        _alarm_then_quiet(monitor, rng)  # the quiet check lands before the spawned retrain has even imported sftops
        assert json.loads((tmp_path / "retrain/drift_status.json").read_text())["alarm"] is False
        proc = monitor._retrain_proc
        assert proc is not None and proc.args[-2:] == ["--alarm", "1"]
        assert proc.wait(timeout=180) == 0, monitor.retrain_log.read_text()
        state = load_state(tmp_path / "retrain")
        assert (state.status, state.reason) == ("promoted", "drift"), monitor.retrain_log.read_text()
        (run,) = retrain_runs()
        assert run.data.tags["sftops.retrain.alarms"] == "1" and run.data.tags["sftops.retrain.triggers"] == "drift"
        journal = AlarmJournal(tmp_path / "feedback/feedback.db")
        alarm = journal.get(1)
        assert (alarm.status, alarm.run_id, alarm.model_version) == ("consumed", run.info.run_id, "3")
        assert alarm.decided_by.startswith(f"retrain pid {proc.pid} on ")
        journal.close()
        time.sleep(STATUS_TTL_S)
        monitor.status()  # starts the refresh of the status snapshot; the next call shows it
        wait_for(lambda: monitor.status().last_alarm.status == "consumed", timeout=10)
        status = monitor.status()
        assert (status.pending_alarms, status.last_alarm.id, status.last_alarm.run_id) == (0, 1, run.info.run_id)
        assert status.last_alarm.failing and status.retrain.status == "promoted"
    finally:
        monitor.close()


def test_while_the_cooldown_holds_an_alarm_is_suppressed_on_its_event_and_no_retrain_starts(tmp_path: Path) -> None:
    from sftops.retraining import AlarmJournal, RetrainState, save_state
    from sftops.testing.retrain_project import make_retrain_project

    params_file = make_retrain_project(tmp_path, min_feedback=None)  # drift.retrain.cooldown_s: 3600
    started = time.time() - 60
    save_state(tmp_path / "retrain", RetrainState(status="promoted", started_at=started, finished_at=started + 30,
                                                  last_success_at=started + 30))
    monitor, rng = _project_monitor(tmp_path, params_file=params_file, seed=6)
    try:
        for _ in range(2):  # alarm after alarm: no process is started for either
            monitor.observe(_batch(rng, 150, shift=1.0))
            assert monitor.check_now().alarm
        assert monitor._retrain_proc is None and not monitor.retrain_log.exists()
        journal = AlarmJournal(tmp_path / "feedback/feedback.db")
        alarms = [journal.get(1), journal.get(2)]
        assert journal.pending() == [] and [a.status for a in alarms] == ["suppressed", "suppressed"]
        for alarm in alarms:
            assert alarm.decided_by.startswith("cooldown: the last retrain attempt started 6")  # ~60 s ago
            assert "drift.retrain.cooldown_s=3600" in alarm.decided_by and alarm.decided_at >= alarm.created_at
        journal.close()
        status = monitor.status()
        assert (status.pending_alarms, status.last_alarm.id, status.last_alarm.status) == (0, 2, "suppressed")
    finally:
        monitor.close()


def test_an_alarm_while_a_retrain_holds_the_lock_is_suppressed_on_its_event(tmp_path: Path) -> None:
    from sftops.retraining import AlarmJournal, RetrainLock
    from sftops.testing.retrain_project import make_retrain_project

    params_file = make_retrain_project(tmp_path, min_feedback=None, retrain={"cooldown_s": 0})
    monitor, rng = _project_monitor(tmp_path, params_file=params_file, seed=6)
    try:
        with RetrainLock(tmp_path / "retrain/retrain.lock"):  # a retrain (cron's, another replica's) is running
            monitor.observe(_batch(rng, 150, shift=1.0))
            assert monitor.check_now().alarm
        assert monitor._retrain_proc is None
        journal = AlarmJournal(tmp_path / "feedback/feedback.db")
        assert (journal.get(1).status, journal.get(1).decided_by) == ("suppressed", "a retrain is running (it holds the retrain lock)")
        journal.close()
    finally:
        monitor.close()


def test_cron_retrain_consumes_the_pending_alarm_of_a_server_that_cannot_retrain_itself(tmp_path: Path) -> None:
    from sftops.config import load_params
    from sftops.retraining import AlarmJournal, retrain
    from sftops.testing.retrain_project import make_retrain_project, retrain_runs

    params_file = make_retrain_project(tmp_path, min_feedback=None)
    monitor, rng = _project_monitor(tmp_path, params_file=None, seed=5)  # a server without --params
    try:
        _alarm_then_quiet(monitor, rng)
        assert monitor.status().pending_alarms == 1
    finally:
        monitor.close()
    result = retrain(load_params(params_file), project_dir=tmp_path)  # `sftops retrain` from cron: no --alarm
    assert result.status == "promoted" and [t.reason for t in result.triggers] == ["drift"], result.message
    assert result.triggers[0].detail["alarms"] == [1] and result.triggers[0].detail["model_version"] == "3"
    (run,) = retrain_runs()
    journal = AlarmJournal(tmp_path / "feedback/feedback.db")
    assert (journal.get(1).status, journal.get(1).run_id) == ("consumed", run.info.run_id)
    journal.close()
    again = retrain(load_params(params_file), project_dir=tmp_path)
    assert again.status == "skipped"  # consumed: the alarm fires once


# --- failures stay in the monitor -------------------------------------------------------------------------------


def test_monitor_errors_never_fail_a_prediction_are_counted_logged_once_and_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(7)
    registry = CollectorRegistry()
    cfg = CFG.model_copy(update={"check_every": 100_000})
    monitor = ServingMonitor(cfg, registry=registry, project_dir=tmp_path, on_alarm=lambda r: None)
    monitor.set_reference(_profile(rng), LABELS, version="1")
    good = _batch(rng, 10)
    wide = Observations(rng.normal(size=(10, 16)), good.probs, good.n_tokens, good.n_unknown)  # another embedding width
    with caplog.at_level(logging.ERROR, logger="sftops_serving.monitor"):
        for _ in range(5):
            monitor.observe(wide)  # raised ValueError into the request before
        strange = [SimpleNamespace(probabilities={"joy": 1.0}, embedding=np.zeros(8, np.float32), n_tokens=3, n_unknown=0)]
        monitor.observe_predictions(strange)  # a label the reference does not know
    assert _gauge(registry, "sftops_drift_errors_total", stage="observe") == 6
    assert len([r for r in caplog.records if "drift monitor observe failed" in r.getMessage()]) == 2  # once per kind
    status = monitor.status()
    assert status.errors == 6 and status.last_error == "observe: KeyError: 'negative'" and status.observed == 0

    import sftops.drift._monitor as drift_monitor

    def broken(*args: object, **kwargs: object) -> None:
        raise FloatingPointError("MMD kernel overflow")

    monkeypatch.setattr(drift_monitor, "mmd_test", broken)  # a detector raising
    monitor.observe(_batch(rng, 150))
    assert monitor.check_now() is None
    assert _gauge(registry, "sftops_drift_errors_total", stage="check") == 1
    assert monitor.status().last_error == "check: FloatingPointError: MMD kernel overflow"

    monitor.set_reference(_profile(rng), [*LABELS, "mixed"], version="2")  # a reference built for 3 labels, model has 4
    status = monitor.status()
    assert (status.monitoring, status.model_version) == (False, "2")
    assert "drift reference was built for 3 labels, the model has 4" in status.detail
    monitor.observe(_batch(rng, 10))  # nothing monitored: nothing to fail
    assert _gauge(registry, "sftops_drift_errors_total", stage="reference") == 1
    monitor.close()


def test_drift_status_says_unknown_when_the_lock_database_is_down_and_reads_it_off_the_request_path(tmp_path: Path) -> None:
    import httpx

    from sftops.config import ServeConfig
    from sftops.testing.asgi import run_scenario
    from sftops.testing.onnx_fakes import make_mean_id_bundle
    from sftops.testing.servers import free_port
    from sftops_serving.app import create_app
    from sftops_serving.model_store import ModelStore
    from sftops_serving.settings import load_settings

    dead = f"postgresql://sftops:hunter2@127.0.0.1:{free_port()}/locks"  # nothing listens there
    cfg = CFG.model_copy(update={"retrain": CFG.retrain.model_copy(update={"lock_url": dead})})
    store = ModelStore.from_folder(make_mean_id_bundle(tmp_path / "b"), device="cpu")
    store.load_initial()
    serve = load_settings(ServeConfig(), feedback_db=str(tmp_path / "fb.db"), max_wait_ms=1)
    app = create_app(serve, store, drift_config=cfg, project_dir=tmp_path)
    monitor = app.state.serving.monitor
    computed = []
    original = monitor._status._compute
    monitor._status._compute = lambda: computed.append(1) or original()

    async def scenario(client: httpx.AsyncClient) -> list[httpx.Response]:
        return [await client.get("/v1/drift") for _ in range(30)]

    started = time.monotonic()
    answers = run_scenario(app, scenario)
    elapsed = time.monotonic() - started
    assert [r.status_code for r in answers] == [200] * 30
    retrain = answers[-1].json()["retrain"]
    assert retrain["running"] is None and "cannot reach the retrain lock database" in retrain["lock_error"]
    assert "hunter2" not in answers[-1].text
    assert len(computed) <= 1 + elapsed / STATUS_TTL_S + 1  # not once per request


def test_the_server_starts_processes_only_through_spawn_retrain() -> None:
    """One way to start a retrain: no module of serving/ imports subprocess/multiprocessing at run time or calls
    os.system/spawn*/exec*/fork; the monitor calls sftops.retraining.spawn_retrain (tested above: `--alarm ID`)."""
    import ast

    from sftops.testing.project import PROJECT_ROOT

    def type_checking_only(tree: ast.Module) -> set[int]:
        return {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                for n in ast.walk(node)}

    found = []
    for path in sorted((PROJECT_ROOT / "serving").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = type_checking_only(tree)
        for node in ast.walk(tree):
            if id(node) in guarded:
                continue
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("subprocess", "multiprocessing") for n in names):
                found.append(f"{path.name}:{node.lineno} imports {names}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "os" and node.func.attr.startswith(("system", "spawn", "exec", "fork", "posix_spawn"))):
                found.append(f"{path.name}:{node.lineno} calls os.{node.func.attr}")
    assert not found, found
    source = (PROJECT_ROOT / "serving" / "monitor.py").read_text(encoding="utf-8")
    assert "spawn_retrain(self.params_file" in source


# --- an NER model: entity types, entities per text -------------------------------------------------------------------
TAGS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def _tagged_answers(rng: np.random.Generator, n: int, types: tuple[str, ...] = ("LOC", "PER"),
                    p: tuple[float, ...] = (0.5, 0.5)) -> list[SimpleNamespace]:
    """What TaggerRuntime.predict answers (the fields the monitor reads)."""
    return [SimpleNamespace(entities=[SimpleNamespace(type=t) for t in rng.choice(types, rng.poisson(1.0), p=p)],
                            confidence=float(rng.beta(8, 2)), embedding=rng.normal(size=8).astype(np.float32),
                            n_tokens=int(rng.poisson(20)), n_unknown=int(rng.binomial(1, 0.05))) for _ in range(n)]


def _ner_bundle(folder: Path, answers: list[SimpleNamespace]) -> Path:
    from sftops.bundle import BundleManifest, VariantInfo
    from sftops.drift.reference import build_tagging_reference

    folder.mkdir(parents=True)
    for name in ("model.onnx", "tokenizer.json", "label_map.json"):
        (folder / name).write_text("{}")
    reference = build_tagging_reference(tagged={"fp32": answers}, true_tags=[], labels=TAGS, max_length=32, folder=folder)
    BundleManifest(task="token_classification", max_length=32, inputs=["input_ids"], labels=TAGS,
                   entity_types=["LOC", "PER"], drift_reference_file=reference.save(folder).name,
                   variants={"fp32": VariantInfo(file="model.onnx", device="any")}).save(folder)
    return folder


def test_ner_bundle_is_monitored_on_entity_types_and_alarms_when_their_mix_shifts(tmp_path: Path) -> None:
    rng = np.random.default_rng(20)
    bundle = _ner_bundle(tmp_path / "b", _tagged_answers(rng, 800))
    monitor = ServingMonitor(CFG, registry=CollectorRegistry(), project_dir=tmp_path, on_alarm=lambda r: None)
    monitor.use_bundle(bundle, "fp32", TAGS, version="5")
    status = monitor.status()
    assert (status.monitoring, status.detail) == (True, None)
    monitor.observe_predictions(_tagged_answers(rng, 150), version="5")
    report = monitor.check_now()
    assert report is not None and report.state == "ok"
    assert {d.name for d in report.detectors} == {"labels", "entities", "confidence", "length", "unknown", "embedding"}

    monitor.use_bundle(bundle, "fp32", TAGS, version="6")  # a fresh window
    monitor.observe_predictions(_tagged_answers(rng, 150, p=(0.95, 0.05)), version="6")
    report = monitor.check_now()
    assert report is not None and report.alarm
    assert [d.name for d in report.detectors if d.alarm] == ["labels"]
    monitor.close()


def test_ner_bundle_whose_reference_names_other_types_is_unmonitored_and_unknown_types_are_counted(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    bundle = _ner_bundle(tmp_path / "b", _tagged_answers(rng, 300))
    registry = CollectorRegistry()
    monitor = ServingMonitor(CFG, registry=registry, project_dir=tmp_path, on_alarm=lambda r: None)
    monitor.use_bundle(bundle, "fp32", ["O", "B-ORG", "I-ORG"], version="1")
    status = monitor.status()
    assert status.monitoring is False
    assert "counts entity types ['LOC', 'PER'], the model tags ['ORG']" in status.detail
    monitor.use_bundle(bundle, "fp32", TAGS, version="2")
    monitor.observe_predictions([SimpleNamespace(entities=[SimpleNamespace(type="ORG")], confidence=0.9,
                                                 embedding=np.zeros(8, np.float32), n_tokens=4, n_unknown=0)])
    assert _gauge(registry, "sftops_drift_errors_total", stage="observe") == 1
    status = monitor.status()
    assert status.last_error == "observe: KeyError: 'ORG'" and status.observed == 0
    monitor.close()


def test_served_ner_traffic_fills_the_window_and_a_shifted_entity_mix_alarms(tmp_path: Path) -> None:
    """The app serving an NER bundle whose drift reference export-style comes from the tagger's own answers."""
    import asyncio

    import httpx

    from sftops.bundle import BundleManifest
    from sftops.config import ServeConfig
    from sftops.drift.reference import build_tagging_reference
    from sftops.inference import load_runtime
    from sftops.testing.asgi import run_scenario
    from sftops.testing.onnx_fakes import TAGS as FAKE_TAGS
    from sftops.testing.onnx_fakes import make_tagger_bundle
    from sftops_serving.app import create_app
    from sftops_serving.model_store import ModelStore
    from sftops_serving.settings import load_settings

    loc, per = [0.0, 6.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 6.0, 0.0]
    bundle = make_tagger_bundle(tmp_path / "b", {"paris": loc, "rome": loc, "ada": per, "bob": per}, max_length=32)
    rng = np.random.default_rng(30)

    def texts(n: int, names: tuple[str, ...]) -> list[str]:
        return [f"{rng.choice(names)} met {rng.choice(names)} on day {rng.integers(1, 10)}" for _ in range(n)]

    runtime = load_runtime(bundle, "cpu", None, 1)
    reference = build_tagging_reference(tagged={"fp32": runtime.predict(texts(300, ("Paris", "Rome", "Ada", "Bob")))},
                                        true_tags=[], labels=list(FAKE_TAGS), max_length=32, folder=bundle)
    manifest = BundleManifest.load(bundle)
    manifest.model_copy(update={"drift_reference_file": reference.save(bundle).name}).save(bundle)

    async def drift_after(client: httpx.AsyncClient, observed: int) -> dict:
        for _ in range(400):
            body = (await client.get("/v1/drift")).json()
            if body["report"] and body["report"]["observed_total"] >= observed:
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"no drift check covered {observed} texts: {body}")

    async def scenario(client: httpx.AsyncClient) -> None:
        assert (await client.get("/v1/drift")).json()["monitoring"] is True
        for _ in range(10):
            resp = await client.post("/v1/predict", json={"texts": texts(10, ("Paris", "Rome", "Ada", "Bob"))})
            assert resp.status_code == 200, resp.text
        ok = (await drift_after(client, 100))["report"]
        assert ok["state"] == "ok" and set(ok["detectors"]) == {"labels", "entities", "confidence", "length", "unknown",
                                                                "embedding"}
        assert ok["detectors"]["labels"]["n_window"] == 200  # two entities a text
        for _ in range(10):
            await client.post("/v1/predict", json={"texts": texts(10, ("Paris", "Rome"))})  # places only
        shifted = (await drift_after(client, 200))["report"]
        assert shifted["state"] == "alarm" and shifted["detectors"]["labels"]["alarm"]
        assert not shifted["detectors"]["entities"]["alarm"]

    serve = load_settings(ServeConfig(), feedback_db=str(tmp_path / "fb.db"), max_wait_ms=1)
    store = ModelStore.from_folder(bundle, device="cpu")
    store.load_initial()
    cfg = DriftConfig(window=100, check_every=100, min_samples=100, p_value=0.05, mmd_permutations=199,
                      min_check_interval_s=0)
    run_scenario(create_app(serve, store, drift_config=cfg, project_dir=tmp_path), scenario)
