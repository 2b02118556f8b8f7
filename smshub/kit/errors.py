"""The error tree. Every error a client can cause carries its HTTP status.

SmshubError (400)
  ├── InvalidInput (422)   a field broke a rule: `field` names it
  ├── Unauthenticated (401)
  ├── Forbidden (403)
  ├── NotFound (404)       also what another tenant's object looks like
  └── Conflict (409)       uniqueness and policy clashes
"""

from __future__ import annotations


class SmshubError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class InvalidInput(SmshubError):
    status = 422
    code = "invalid"


class Unauthenticated(SmshubError):
    status = 401
    code = "unauthenticated"


class Forbidden(SmshubError):
    status = 403
    code = "forbidden"


class NotFound(SmshubError):
    status = 404
    code = "not_found"


class Conflict(SmshubError):
    status = 409
    code = "conflict"
