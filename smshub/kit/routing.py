"""Route lookup by path prefix instead of a scan of every route.

Starlette tries each route's regex in order until one matches. With some 300 routes
that scan cost about 0.5-1 ms per request, more than a cached send itself. Here each
route is filed under the literal path segments before its first parameter; a request
tries, in the original order, only the routes whose literal segments agree with its own.
A route that cannot agree cannot match, so the first match is the one the full scan
would find. Anything unmatched (404s, slash redirects) goes to the router's own scan.
"""

from __future__ import annotations

from starlette._utils import get_route_path  # what Starlette's own Router matches on
from starlette.routing import BaseRoute, Match, Router
from starlette.types import Receive, Scope, Send

DEPTH = 3  # "/api/v1/<domain>" tells most routes apart
_MAX_KEYS = 4096  # bound the lookup cache against random paths


def literal_segments(path: str) -> tuple[str, ...]:
    """`/api/v1/messages/{id}` -> ("api", "v1", "messages"): the fixed head of a route."""
    out: list[str] = []
    for segment in path.strip("/").split("/")[:DEPTH]:
        if "{" in segment or not segment:
            break
        out.append(segment)
    return tuple(out)


def _agrees(route_head: tuple[str, ...], request_head: tuple[str, ...]) -> bool:
    return all(a == b for a, b in zip(route_head, request_head, strict=False))


class RouteIndex:
    """An ASGI app that replaces a router's dispatch; install with `install(router)`."""

    def __init__(self, router: Router):
        self.router = router
        self._heads: list[tuple[BaseRoute, tuple[str, ...] | None]] | None = None
        self._seen: int = -1
        self._cache: dict[tuple[str, ...], list[BaseRoute]] = {}

    def _candidates(self, path: str) -> list[BaseRoute]:
        routes = self.router.routes
        if self._heads is None or self._seen != len(routes):
            # Routes added after startup (tests, mounts) rebuild the index.
            self._heads = [
                (r, literal_segments(p) if isinstance(p := getattr(r, "path", None), str) else None)
                for r in routes
            ]
            self._seen = len(routes)
            self._cache.clear()
        key = tuple(path.strip("/").split("/")[:DEPTH])
        hit = self._cache.get(key)
        if hit is None:
            # A route without a path (a custom BaseRoute) is always tried.
            hit = [r for r, head in self._heads if head is None or _agrees(head, key)]
            if len(self._cache) < _MAX_KEYS:
                self._cache[key] = hit
        return hit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.router.app(scope, receive, send)
            return
        scope.setdefault("router", self.router)
        partial: tuple[BaseRoute, Scope] | None = None
        for route in self._candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match == Match.FULL:
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match == Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is not None:  # e.g. 405 Method Not Allowed
            scope.update(partial[1])
            await partial[0].handle(scope, receive, send)
            return
        await self.router.app(scope, receive, send)


def install(router: Router) -> RouteIndex:
    index = RouteIndex(router)
    router.middleware_stack = index
    return index
