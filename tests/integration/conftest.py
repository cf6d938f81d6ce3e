"""Fixtures shared by the integration tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def feedback_url(postgres_url: str) -> str:
    """The shared database with an empty feedback table."""
    import sqlalchemy as sa

    from sftops.dburl import storage_url

    engine = sa.create_engine(storage_url(postgres_url))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS feedback"))
    engine.dispose()
    return postgres_url
