"""Open the Optuna study: RDB storage with heartbeats and retries, seeded TPE, the chosen pruner."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback

from ..config import Params, TuneConfig
from ..dburl import redact, scrub, storage_url
from ..exceptions import ConfigError

log = logging.getLogger(__name__)


def study_name_for(params: Params, data_fingerprint: str | None) -> str:
    """`tune.study_name` plus a hash of what trials depend on: workers with the same params and data share a study,
    and changed params or data start a fresh one instead of mixing incomparable trials."""
    tune = params.tune
    relevant = {
        "model": params.model.model_dump(mode="json"),
        "train": params.train.model_dump(mode="json"),
        "tune": tune.model_dump(
            mode="json", include={"metric", "search_space", "max_train_samples", "max_eval_samples", "evals_per_epoch"}
        ),
        "data": data_fingerprint,
    }
    digest = hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:10]
    return f"{tune.study_name}-{digest}"


def _pruner(cfg: TuneConfig) -> optuna.pruners.BasePruner:
    if cfg.pruner == "median":
        # evaluations are reported as steps 1, 2, ...: step n_warmup_steps is the first prunable one
        return optuna.pruners.MedianPruner(n_startup_trials=cfg.pruner_startup_trials, n_warmup_steps=cfg.pruner_min_evals)
    if cfg.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=cfg.pruner_min_evals, max_resource="auto")
    return optuna.pruners.NopPruner()


def _storage(cfg: TuneConfig, attempts: int = 5) -> RDBStorage:
    from sqlalchemy.exc import IntegrityError, ProgrammingError

    url = storage_url(cfg.expanded_storage())  # the only place the password is filled in
    engine_kwargs = {"pool_pre_ping": True} if url.startswith("postgresql") else None
    attempt = 1
    while True:
        try:
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=cfg.heartbeat_interval,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=cfg.max_retries),
            )
        except (IntegrityError, ProgrammingError) as exc:
            # workers starting together on an empty database race to create Optuna's
            # tables; the loser sees "already exists" / a duplicate key and retries
            if attempt == attempts:
                raise _storage_error(cfg, exc) from None
            time.sleep(0.5 * attempt)
            attempt += 1
        except Exception as exc:  # sqlalchemy/driver errors: unreachable server, bad URL, missing driver
            raise _storage_error(cfg, exc) from None


def _storage_error(cfg: TuneConfig, exc: Exception) -> ConfigError:
    reason = scrub(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__
    return ConfigError(f"tune.storage: cannot open Optuna storage {redact(cfg.storage)} ({reason}); "
                       "check the URL and that the database server is up")


def open_study(params: Params, name: str) -> tuple[optuna.Study, bool]:
    """Create the study, or join it if another worker already did; return (study, created_here)."""
    cfg = params.tune
    storage = _storage(cfg)
    pruner = _pruner(cfg)
    try:
        study = optuna.create_study(
            storage=storage, study_name=name, direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=cfg.sampler_seed), pruner=pruner,
        )
        return study, True
    except optuna.exceptions.DuplicatedStudyError:
        # a joining worker gets its own seed, or it would replay the creator's start-up samples
        sampler = optuna.samplers.TPESampler(seed=cfg.sampler_seed + 1 + os.getpid() % 100_000)
        log.info("joining existing Optuna study %s", name)
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner), False

