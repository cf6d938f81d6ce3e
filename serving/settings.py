"""Server settings: the `serve` params section, with `SFTOPS_SERVE_<KEY>` environment variables on top."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from sftops.config import ServeConfig
from sftops.exceptions import ConfigError


class ServeSettings(BaseSettings, ServeConfig):
    """`ServeConfig` fields; values come from params.yaml's `serve` section, then the environment wins."""

    model_config = SettingsConfigDict(env_prefix="SFTOPS_SERVE_", extra="forbid", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings


def load_settings(serve: ServeConfig | None = None, **overrides: object) -> ServeSettings:
    """Layer: `serve` section < environment < explicit overrides (CLI flags); errors name the key."""
    base = (serve or ServeConfig()).model_dump(exclude_unset=False)
    try:
        settings = ServeSettings(**base)
        if overrides:
            settings = ServeSettings.model_validate({**settings.model_dump(), **overrides})
    except ValidationError as exc:
        problems = "; ".join(f"serve.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"serve settings (params.yaml `serve:` or SFTOPS_SERVE_* env): {problems}") from None
    return settings
