"""registry.lock_url: champion decisions on several machines serialize on a PostgreSQL advisory lock of their own."""

from __future__ import annotations

import pytest

from sftops.config import RegistryConfig
from sftops.exceptions import RegistryError
from sftops.registry._lock import decision_lock
from sftops.retraining import RetrainLock


def test_decisions_serialize_on_postgres_apart_from_the_retrain_lock(postgres_url: str, tmp_path) -> None:
    cfg = RegistryConfig(model_name="pg-model", lock_url=postgres_url, lock_timeout_s=0.5)
    with decision_lock(cfg, tmp_path):
        with pytest.raises(RegistryError, match=r"held the registry lock .* for more than 0\.5 s"), decision_lock(cfg, tmp_path):
            pass
        with decision_lock(cfg.model_copy(update={"model_name": "other-model"}), tmp_path):
            pass  # another model's decisions do not wait
    with RetrainLock(postgres_url), decision_lock(cfg, tmp_path):  # a retrain holds its lock while its pipeline registers
        pass  # and a decision inside it does not deadlock
    assert not (tmp_path / "models").exists()  # no lock file when PostgreSQL holds the lock


def test_an_unreachable_lock_database_is_a_registry_error_without_the_password(tmp_path) -> None:
    cfg = RegistryConfig(lock_url="postgresql://sftops:s3cret@127.0.0.1:1/locks", lock_timeout_s=1)
    with pytest.raises(RegistryError, match="cannot reach the registry lock database") as err, decision_lock(cfg, tmp_path):
        pass
    assert "s3cret" not in str(err.value) and "registry.lock_url" in str(err.value)
