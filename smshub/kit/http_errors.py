"""Every error leaves in one shape: {"error": {"code", "message", "field"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from smshub.kit.errors import SmshubError

log = logging.getLogger(__name__)
_LOC_ROOTS = {"body", "query", "path", "header", "cookie"}
_STATUS_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "field": field}}


def _describe(err: dict[str, object]) -> tuple[str, str, str | None]:
    loc = [str(p) for p in err.get("loc", ())]  # type: ignore[attr-defined]
    if loc and loc[0] in _LOC_ROOTS:
        loc = loc[1:]
    field = ".".join(loc) or None
    if err.get("type") == "json_invalid":
        return "invalid_json", "The request body is not valid JSON.", None
    msg = str(err.get("msg", "is invalid")).removeprefix("Value error, ")
    if err.get("type") == "missing":
        msg = "is required"
    if err.get("type") == "extra_forbidden":
        msg = "is not a known field"
    return "invalid", f"{field}: {msg}" if field else msg, field


def install(app: FastAPI) -> None:
    @app.exception_handler(SmshubError)
    async def _smshub(_: Request, exc: SmshubError) -> JSONResponse:
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        code, message, field = _describe(errors[0] if errors else {})
        body = error_body(code, message, field)
        body["error"]["details"] = [  # type: ignore[index]
            {"field": f, "message": m} for _, m, f in (_describe(e) for e in errors[:20])
        ]
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return JSONResponse(error_body("internal", "Internal error; it was logged."), 500)
