"""A Twilio-style REST endpoint on loopback (Starlette served by uvicorn): what our HTTP
carrier talks to in tests and benchmarks. It records each request and answers as told."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class FakeTwilio:
    # status code for the Nth request (1-based); default 201
    decide: Callable[[int], int] | None = None
    retry_after: str | None = None  # a Retry-After header on refusals
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def _messages(self, request: Request) -> JSONResponse:
        form = await request.form()
        n = len(self.requests) + 1
        self.requests.append(
            {
                "path": request.url.path,
                "auth": request.headers.get("authorization"),
                "form": {k: str(v) for k, v in form.items()},
            }
        )
        code = self.decide(n) if self.decide else 201
        if code >= 400:
            headers = {"Retry-After": self.retry_after} if self.retry_after else None
            return JSONResponse(
                {"code": 21211, "message": "nope"}, status_code=code, headers=headers
            )
        sid = f"SM{next(self._ids):032x}"
        return JSONResponse({"sid": sid, "status": "queued"}, status_code=code)

    async def start(self) -> str:
        app = Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self._messages, methods=["POST"])
            ]
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110  (uvicorn offers no event)
            await asyncio.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
