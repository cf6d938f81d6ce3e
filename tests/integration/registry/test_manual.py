"""`sftops promote` / `sftops rollback` against a real MLflow server: moves, audit entries, and refusals that change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sftops.cli import main as sftops_main
from sftops.exceptions import RegistryError
from sftops.registry import audit_history, promote, registry_client, rollback


@pytest.fixture()
def params_file(tmp_path: Path, server: str, project_params) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(project_params(server, "unused").model_dump(mode="json")))
    return path


def test_promote_and_rollback_walk_the_champion_history(server, tiny_project, bundle_version, params_file, capsys) -> None:
    name = "manual-history"
    for bundle in (tiny_project.good_bundle, tiny_project.constant_bundle, tiny_project.good_bundle):
        bundle_version(server, name, bundle)
    client = registry_client(server)
    promote(client, name, 1, "first")
    promote(client, name, 2, "try the new one")
    assert sftops_main(["promote", name, "3", "--reason", "hotfix", "--params", str(params_file)]) == 0
    assert "champion is now version 3 (was 2)" in capsys.readouterr().out

    assert sftops_main(["rollback", name, "--reason", "3 is broken", "--params", str(params_file)]) == 0
    assert client.get_registered_model(name).aliases["champion"] == "2"
    assert rollback(client, name, "2 too").champion_after == "1"
    with pytest.raises(RegistryError, match="no champion before version 1"):
        rollback(client, name, "nothing left")

    history = audit_history(client, name)
    assert [(e.action, e.champion_before, e.champion_after) for e in history] == [
        ("promote", None, "1"), ("promote", "1", "2"), ("promote", "2", "3"),
        ("rollback", "3", "2"), ("rollback", "2", "1")]
    assert history[3].reason == "3 is broken" and history[3].trigger == "manual"
    assert history[3].decision == "rolled_back" and history[3].version == "2"
    assert [e.seq for e in history] == [1, 2, 3, 4, 5]
    tags = client.get_model_version(name, "1").tags
    assert tags["sftops.decision"] == "rolled_back" and tags["sftops.decision_reason"] == "2 too"
    assert {k for k in tags if k.startswith("sftops.audit.")} == {"sftops.audit.000001", "sftops.audit.000005"}


def test_cli_reads_names_with_the_one_reference_parser(server, tiny_project, bundle_version, registry_snapshot, params_file,
                                                       capsys) -> None:
    name = "manual-refs"
    for bundle in (tiny_project.good_bundle, tiny_project.good_bundle):
        bundle_version(server, name, bundle)
    client = registry_client(server)
    params = ["--params", str(params_file)]
    assert sftops_main(["promote", f"models:/{name}/1", "--reason", "by uri", *params]) == 0
    assert sftops_main(["promote", f"{name}/2", "--reason", "by NAME/VERSION", *params]) == 0
    assert sftops_main(["rollback", f"models:/{name}", "--reason", "by uri", *params]) == 0
    assert "champion is now version 1 (was 2)" in capsys.readouterr().out
    assert client.get_registered_model(name).aliases["champion"] == "1"

    before = registry_snapshot(server, name)
    refused = {
        ("promote", f"{name}@challenger", "2"): "moves 'champion'; give NAME or NAME/VERSION, not another alias",
        ("promote", f"{name}/2", "1"): "names version 2 but VERSION is 1",
        ("promote", name): f"which version of '{name}'?",
        ("rollback", f"{name}/1"): "rollback goes back to the previous champion",
        ("promote", f"models:/{name}/x", "2"): "is not NAME, NAME@ALIAS, NAME/VERSION or models:/NAME@ALIAS",
    }
    for argv, message in refused.items():
        assert sftops_main([*argv, "--reason", "r", *params]) == 1, argv
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (argv, err)
    assert registry_snapshot(server, name) == before


def test_model_without_champion_is_refused(server, tiny_project, bundle_version, registry_snapshot, params_file, capsys) -> None:
    from sftops.registry import resolve_model

    name = "manual-no-champion"
    bundle_version(server, name, tiny_project.good_bundle)
    before = registry_snapshot(server, name)
    client = registry_client(server)
    with pytest.raises(RegistryError, match="has no version with alias 'champion'"):
        resolve_model(name, client=client)
    assert sftops_main(["rollback", name, "--params", str(params_file)]) == 1
    assert "no champion to roll back from" in capsys.readouterr().err
    with pytest.raises(RegistryError, match="no registered model named 'never-registered'"):
        resolve_model("never-registered", client=client)
    with pytest.raises(RegistryError, match="no registered model named 'never-registered'"):
        promote(client, "never-registered", 1, "x")
    with pytest.raises(RegistryError, match="has no version 7"):
        promote(client, name, 7, "x")
    assert registry_snapshot(server, name) == before


def test_version_with_missing_artifact_is_refused(server, tiny_project, bundle_version, registry_snapshot, tmp_path) -> None:
    from sftops.registry import download_bundle

    name = "manual-missing-artifact"
    bundle_version(server, name, tiny_project.good_bundle)
    broken = shutil.copytree(tiny_project.good_bundle, tmp_path / "broken")
    (broken / "model.onnx").unlink()
    bundle_version(server, name, broken)
    client = registry_client(server)
    promote(client, name, 1, "baseline")
    before = registry_snapshot(server, name)
    with pytest.raises(RegistryError, match=r"version 2 .* missing \['model.onnx'\]"):
        promote(client, name, 2, "should fail")
    with pytest.raises(RegistryError, match=r"missing \['model.onnx'\]"):
        download_bundle(client, name, "2", tmp_path / "dl")
    assert not (tmp_path / "dl").exists()
    assert registry_snapshot(server, name) == before
    assert (download_bundle(client, name, "champion", tmp_path / "ok") / "model.onnx").is_file()


def test_unreachable_registry_is_a_clear_error(tmp_path, project_params, capsys, monkeypatch) -> None:
    from sftops.testing.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(project_params(url, "x").model_dump(mode="json") | {"tracking": {"uri": url, "connect_timeout": 2}}))
    assert sftops_main(["promote", "x", "1", "--reason", "r", "--params", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sftops promote: error: MLflow tracking server") and "unreachable" in err
    assert len(err.strip().splitlines()) == 1
    with pytest.raises(RegistryError, match="unreachable"):
        registry_client(url, timeout=2)


def test_a_move_interrupted_mid_way_is_settled_by_the_next_decision(server, tiny_project, bundle_version, monkeypatch) -> None:
    from mlflow import MlflowClient

    name = "manual-interrupted"
    for bundle in (tiny_project.good_bundle, tiny_project.constant_bundle, tiny_project.good_bundle):
        bundle_version(server, name, bundle)
    client = registry_client(server)
    promote(client, name, 1, "first")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies here: nothing after this line runs

    with monkeypatch.context() as patch:  # dies before the alias moves
        patch.setattr(MlflowClient, "set_registered_model_alias", crash)
        with pytest.raises(KeyboardInterrupt):
            promote(client, name, 2, "never happened")
    assert client.get_registered_model(name).aliases["champion"] == "1"
    assert [e.status for e in audit_history(client, name)] == ["applied", "pending"]

    with monkeypatch.context() as patch:  # dies after the alias moved, before the entry was confirmed
        patch.setattr(MlflowClient, "set_model_version_tag", crash)
        with pytest.raises(KeyboardInterrupt):
            promote(client, name, 3, "moved, then died")
    assert client.get_registered_model(name).aliases["champion"] == "3"
    history = audit_history(client, name)
    assert [(e.champion_after, e.status) for e in history] == [("1", "applied"), ("2", "abandoned"), ("3", "pending")]

    back = rollback(client, name, "3 is broken")  # settles 3 as applied; 2 never was champion, so back to 1
    assert back.champion_after == "1" and client.get_registered_model(name).aliases["champion"] == "1"
    assert [(e.champion_after, e.status) for e in audit_history(client, name)] == [
        ("1", "applied"), ("2", "abandoned"), ("3", "applied"), ("1", "applied")]
