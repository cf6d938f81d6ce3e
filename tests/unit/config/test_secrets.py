"""No secret leaves its place: `${VAR}` URL params expanded only where used, passwords hidden in errors,
logs and MLflow params, and no URL param in dvc.lock."""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from sftops.config import RetrainConfig, ServeConfig, TrackingConfig, TuneConfig, parse_params
from sftops.dburl import redact, scrub
from sftops.exceptions import ConfigError, SftopsError, TrackingError
from sftops.testing.project import PROJECT_ROOT

ROOT = PROJECT_ROOT
SFTOPS = str(Path(sys.executable).parent / "sftops")
PW = "pw-Zq81/x@y:z"  # a password with the characters a URL cannot hold as they are
VAR = "SFTOPS_TEST_DB_PASSWORD"
URL_PARAMS = {
    "tune": {"storage": f"postgresql://sftops:${{{VAR}}}@db:5432/optuna"},
    "tracking": {"uri": f"http://sftops:${{{VAR}}}@mlflow:5000"},
    "serve": {"feedback_db": f"postgresql://sftops:${{{VAR}}}@db/feedback"},
    "drift": {"retrain": {"lock_url": f"postgresql://sftops:${{{VAR}}}@db/lock"}},
}


@pytest.fixture
def restore_log_factory() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    yield
    logging.setLogRecordFactory(factory)


def test_unreachable_tracking_uri_with_a_password_does_not_print_it(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("tracking:\n  uri: http://user:password@127.0.0.1:9\n")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.run([SFTOPS, "train"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "password" not in proc.stdout + proc.stderr
    assert "MLflow tracking server http://127.0.0.1:9 is unreachable (" in proc.stderr


class _AuthHealth(BaseHTTPRequestHandler):
    """/health answering 200 only with basic auth alice:<PW>, as an MLflow behind an auth proxy would."""

    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        header = self.headers.get("Authorization")
        self.seen.append(header)
        ok = self.path == "/health" and header == "Basic " + base64.b64encode(f"alice:{PW}".encode()).decode()
        self.send_response(200 if ok else 401)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def auth_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuthHealth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_tracking_uri_credentials_are_sent_as_basic_auth_and_never_shown(auth_server: str) -> None:
    from urllib.parse import quote

    from sftops.tracking import check_reachable

    _AuthHealth.seen.clear()
    check_reachable(f"http://alice:{quote(PW, safe='')}@{auth_server}", timeout=5)  # urllib alone took it for a host name
    assert _AuthHealth.seen[-1] is not None
    with pytest.raises(TrackingError) as info:
        check_reachable(f"http://alice:wrong-pw-123@{auth_server}", timeout=5)
    assert "HTTP 401" in str(info.value) and "wrong-pw-123" not in str(info.value)
    assert f"http://alice:***@{auth_server}" in str(info.value)


def test_env_references_stay_as_written_until_a_connection_expands_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.engine import make_url

    from sftops.tracking import params_hash, resolve_tracking_uri
    from sftops.tracking._runs import flat_params

    monkeypatch.setenv(VAR, PW)
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    params = parse_params(URL_PARAMS)
    dumped = yaml.safe_dump(params.model_dump(mode="json"))
    assert f"${{{VAR}}}" in dumped and "pw-Zq81" not in dumped  # what dvc.lock, hashes and MLflow see
    assert flat_params(params, ("tune",))["tune.storage"] == URL_PARAMS["tune"]["storage"]
    digest = params_hash(params)
    monkeypatch.setenv(VAR, "another-password")
    assert params_hash(params) == digest  # rotating a password changes no params hash
    monkeypatch.setenv(VAR, PW)

    expanded = params.tune.expanded_storage()
    assert expanded == "postgresql://sftops:pw-Zq81%2Fx%40y%3Az@db:5432/optuna"
    assert make_url(expanded).password == PW and make_url(expanded).host == "db"
    assert make_url(params.serve.expanded_feedback_db()).password == PW
    assert make_url(params.drift.retrain.expanded_lock_url()).password == PW
    for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        monkeypatch.setenv(name, "restored after the test")
    # the credentials go where MLflow reads them; the URI it prints and quotes holds none
    assert resolve_tracking_uri(params.tracking) == "http://mlflow:5000"
    assert (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"]) == ("sftops", PW)
    # a reference that is the whole value is inserted as it is
    monkeypatch.setenv("SFTOPS_TEST_STORAGE", "postgresql://u:p%40@h/db")
    assert TuneConfig(storage="${SFTOPS_TEST_STORAGE}").expanded_storage() == "postgresql://u:p%40@h/db"
    assert TrackingConfig().expanded_uri() == "sqlite:///mlflow.db" and RetrainConfig().expanded_lock_url() is None


def test_an_unset_variable_is_an_error_naming_the_key_and_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    params = parse_params(URL_PARAMS)  # parsing needs no secret
    for key, expand in (
        ("tune.storage", params.tune.expanded_storage),
        ("tracking.uri", params.tracking.expanded_uri),
        ("serve.feedback_db", params.serve.expanded_feedback_db),
        ("drift.retrain.lock_url", params.drift.retrain.expanded_lock_url),
    ):
        with pytest.raises(ConfigError, match=rf"^{key}: environment variable {VAR} is not set; export {VAR}"):
            expand()


def test_a_literal_password_gets_one_warning_saying_how_to_move_it(caplog: pytest.LogCaptureFixture,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from sftops.config import _secrets

    monkeypatch.setattr(_secrets, "_warned", set())
    monkeypatch.setenv(VAR, PW)
    literal = TuneConfig(storage="postgresql://sftops:hunter2@db/optuna")
    with caplog.at_level(logging.WARNING, logger="sftops.config._secrets"):
        for _ in range(3):
            assert literal.expanded_storage() == "postgresql://sftops:hunter2@db/optuna"
        parse_params(URL_PARAMS).tune.expanded_storage()  # a ${VAR} reference: nothing to warn about
        TuneConfig(storage="postgresql://sftops@db/optuna").expanded_storage()  # PGPASSWORD / ~/.pgpass: neither
    assert len(caplog.records) == 1
    assert caplog.records[0].getMessage().startswith("tune.storage holds a credential written into the params file")
    assert "hunter2" not in caplog.text and "write ${NAME} in its place and export NAME" in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("postgresql://u:${1X}@h/db", r"\$\{1X\} is not an environment variable reference"),
        ("postgresql://u:${PW@h/db", "unclosed"),
        ("postgresql://u:${}@h/db", r"\$\{\} is not an environment variable reference"),
    ],
)
def test_a_malformed_reference_fails_at_parse_naming_the_key(value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=f"tune.storage: {expected}"):
        parse_params({"tune": {"storage": value}})
    with pytest.raises(Exception, match=expected):
        ServeConfig(feedback_db=value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://sftops:hunter2@db:5432/optuna", "postgresql://sftops:***@db:5432/optuna"),
        ("postgresql+psycopg2://u:p@ss@h/db?sslmode=require", "postgresql+psycopg2://u:***@h/db?sslmode=require"),
        ("http://user:password@127.0.0.1:9/mlflow", "http://user:***@127.0.0.1:9/mlflow"),
        ("postgresql://sftops:${SFTOPS_DB_PASSWORD}@db/optuna", "postgresql://sftops:${SFTOPS_DB_PASSWORD}@db/optuna"),
        ("postgresql://sftops@db/optuna", "postgresql://sftops@db/optuna"),
        ("sqlite:///optuna.db", "sqlite:///optuna.db"),
        ("feedback/feedback.db", "feedback/feedback.db"),
    ],
)
def test_redact_hides_only_the_password(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert scrub(f"cannot reach {url}: refused") == f"cannot reach {shown}: refused"


def test_scrub_finds_every_url_in_free_text() -> None:
    text = ("API request to http://u:hunter2@h:5000/api/2.0/mlflow/runs/get failed; "
            "(psycopg2.OperationalError) postgresql+psycopg2://a:b0b@c:5/d timed out, and https://h/x was fine")
    assert scrub(text) == ("API request to http://u:***@h:5000/api/2.0/mlflow/runs/get failed; "
                           "(psycopg2.OperationalError) postgresql+psycopg2://a:***@c:5/d timed out, and https://h/x was fine")


def test_mlflow_params_never_get_a_literal_password() -> None:
    """A password written into params.yaml is ***ed in every logged param; the run in a real MLflow store shows it."""
    from mlflow import MlflowClient

    from sftops.tracking._runs import flat_params, log_params_batch

    params = parse_params({"tune": {"storage": "postgresql://sftops:hunter2@db/optuna"},
                           "data": {"source": "https://user:t0ken-9@example.org/data.csv"}})
    client = MlflowClient()
    run = client.create_run(client.create_experiment("secrets"))
    log_params_batch(run.info.run_id, {**flat_params(params, ("data", "model", "train", "tune")), "extra": "http://a:s3cr@h"})
    logged = client.get_run(run.info.run_id).data.params
    assert logged["tune.storage"] == "postgresql://sftops:***@db/optuna"
    assert logged["data.source"] == "https://user:***@example.org/data.csv" and logged["extra"] == "http://a:***@h"
    assert not any(secret in value for value in logged.values() for secret in ("hunter2", "t0ken-9", "s3cr"))


def test_log_records_and_tracebacks_are_scrubbed(caplog: pytest.LogCaptureFixture, restore_log_factory: None) -> None:
    from sftops.redaction import install_log_redaction

    install_log_redaction()
    install_log_redaction()  # idempotent
    log = logging.getLogger("sftops.test")
    with caplog.at_level(logging.INFO):
        log.warning("cannot reach %s", "postgresql://u:hunter2@h/db")
        try:
            raise RuntimeError("API request to http://u:hunter2@h:5000/api failed")
        except RuntimeError:
            log.exception("request failed")
        log.info("plain %d%%", 5)
    assert "hunter2" not in caplog.text
    assert "postgresql://u:***@h/db" in caplog.text and "http://u:***@h:5000/api" in caplog.text
    assert caplog.records[-1].getMessage() == "plain 5%"


def test_the_cli_guard_scrubs_errors_and_bug_tracebacks(capsys: pytest.CaptureFixture[str], restore_log_factory: None) -> None:
    from sftops.cli import run_guarded

    def user_error() -> None:
        raise SftopsError("cannot open postgresql://u:hunter2@h/db (connection refused)")

    def bug() -> None:
        raise KeyError("http://u:hunter2@h:5000 gone")

    assert run_guarded("x", user_error) == 1
    assert capsys.readouterr().err == "sftops x: error: cannot open postgresql://u:***@h/db (connection refused)\n"
    assert run_guarded("x", bug) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "KeyError: 'http://u:***@h:5000 gone'" in err
    assert "hunter2" not in err


def _stage_params(stage: str) -> list[str]:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return [p for p in stages[stage].get("params", []) if isinstance(p, str)]


def test_dvc_lock_never_records_a_url_param() -> None:
    """dvc.lock stores the values of the params each stage lists: never a URL that may hold a password."""
    secret_keys = {"tune.storage", "tracking.uri", "serve.feedback_db", "drift.retrain.lock_url", "registry.lock_url"}
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    listed = [p for stage in stages.values() for p in stage.get("params", []) if isinstance(p, str)]
    for key in listed:
        assert not any(secret == key or secret.startswith(key + ".") for secret in secret_keys), key
    # the sections holding a URL are listed key by key: every other key, so a change still reruns the stage
    assert {p for p in _stage_params("tune") if p.startswith("tune.")} == {f"tune.{k}" for k in TuneConfig.model_fields} - {"tune.storage"}
    assert {p for p in _stage_params("register") if p.startswith("tracking.")} == {
        f"tracking.{k}" for k in TrackingConfig.model_fields} - {"tracking.uri"}
    # DVC fails on a listed key missing from the params file: the shipped files hold every one
    for name in ("params.yaml", "params-full.yaml"):
        raw = yaml.safe_load((ROOT / name).read_text())
        for key in listed:
            section, _, rest = key.partition(".")
            assert section in raw and (not rest or rest in raw[section]), f"{name} lacks {key}"
