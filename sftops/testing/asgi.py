"""Drive an ASGI app in-process: its lifespan runs, requests go through httpx without a socket."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")


def run_scenario(app: Any, scenario: Callable[[httpx.AsyncClient], Awaitable[T]]) -> T:
    """Start `app` (startup and shutdown included), run `scenario` with a client of it, and return what it returns."""
    import httpx
    from asgi_lifespan import LifespanManager

    async def main() -> T:
        async with LifespanManager(app) as manager, httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://test"
        ) as client:
            return await scenario(client)

    return asyncio.run(main())
