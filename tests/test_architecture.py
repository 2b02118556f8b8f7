"""Conventions that keep the layout honest (ARCHITECTURE.md, rules 1-3)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from smshub.app import create_app
from smshub.config import Settings

ROOT = Path(__file__).resolve().parent.parent / "smshub"
PURE = {
    "smshub.kit.clock",
    "smshub.kit.errors",
    "smshub.kit.types",
    "smshub.numbers.rules",
    "smshub.messaging.encoding",
    "smshub.carriers.throttle",
    "smshub.carriers.http.signing",
    "smshub.carriers.smpp.pdu",
    "smshub.carriers.smpp.text",
    "smshub.carriers.smpp.receipt",
    "smshub.carriers.smpp.reassembly",
    "smshub.carriers.smpp.session",
    "smshub.lists.csvimport",
    "smshub.campaigns.planning",
    "smshub.billing.rating",
    "smshub.forwarding.rules",
    "smshub.forwarding.signing",
    "smshub.mail.parse",
    "smshub.mail.render",
}
# Submodules of an I/O package that do no I/O themselves.
PURE_STDLIB = {"urllib.parse"}
IO_MODULES = {
    "sqlalchemy",
    "httpx",
    "fastapi",
    "starlette",
    "asyncio",
    "socket",
    "subprocess",
    "os",
    "aiosqlite",
    "psycopg",
    "aiosmtplib",
    "aiosmtpd",
    "smtplib",
    "urllib",
    "requests",
    "pathlib",
    "shutil",
    "uvicorn",
    "sse_starlette",
    "logging",
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", sorted(PURE))
def test_pure_modules_import_no_io(module: str) -> None:
    path = ROOT.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        pytest.skip(f"{module} not written yet")
    for name in _imports(path):
        top = name.split(".")[0]
        assert top not in IO_MODULES or name in PURE_STDLIB, f"{module} imports {name}"
        if top == "smshub":
            assert name in PURE, f"{module} imports the impure {name}"


def test_domains_never_import_another_domains_repository() -> None:
    for path in ROOT.rglob("*.py"):
        domain = path.relative_to(ROOT).parts[0]
        for name in _imports(path):
            parts = name.split(".")
            if len(parts) >= 3 and parts[0] == "smshub" and parts[2] == "repository":
                allowed = parts[1] == domain or (domain, parts[1]) in ALLOWED_REPO_USE
                assert allowed, f"{path} imports {name}"


# Groups check numbers and members through the numbers repository's tenant-scoped queries.
ALLOWED_REPO_USE = {("groups", "numbers"), ("demo.py", "auth")}


def test_every_api_operation_requires_auth() -> None:
    app = create_app(Settings(database_url="sqlite:///:memory:"))
    for path, ops in app.openapi()["paths"].items():
        for method, op in ops.items():
            assert op.get("security"), f"{method.upper()} {path} declares no auth"
