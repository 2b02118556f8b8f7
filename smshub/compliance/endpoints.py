"""REST: /blocklist (B5) and /compliance/keywords (the tenant's own keywords)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from smshub import models
from smshub.auth.actor import check_admin
from smshub.compliance import service
from smshub.kit.clock import SystemClock
from smshub.kit.deps import DB, AdminActor, Cursor, Limit
from smshub.kit.pagination import Page, check_cursor, next_cursor
from smshub.kit.validation import E164Number
from smshub.lists import csvimport, importer
from smshub.lists.schemas import ImportReport, Region

router = APIRouter(tags=["blocklist"])
E164Path = Annotated[str, Path(max_length=32, description="The number in E.164 form.")]
Word = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^\S+$")
]
Words = Annotated[list[Word], Field(max_length=50)]


class BlocklistEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    e164: str
    source: str
    created_at: datetime


class BlocklistCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    e164: E164Number


class Keywords(BaseModel):
    """The tenant's own keywords, on top of the built-in ones (STOP, START, HELP...)."""

    model_config = ConfigDict(extra="forbid")
    opt_out: Words = Field(default_factory=list)
    opt_in: Words = Field(default_factory=list)
    help: Words = Field(default_factory=list)


@router.get("/blocklist", response_model=Page[BlocklistEntry])
async def list_blocklist(
    session: DB, actor: AdminActor, cursor: Cursor = None, limit: Limit = 50
) -> Page[BlocklistEntry]:
    rows = await service.list_blocklist(session, actor, cursor=check_cursor(cursor), limit=limit)
    items = [BlocklistEntry.model_validate(r) for r in rows[:limit]]
    return Page(items=items, next_cursor=next_cursor(rows, limit))


@router.post("/blocklist", response_model=BlocklistEntry, status_code=201)
async def add_to_blocklist(session: DB, actor: AdminActor, data: BlocklistCreate) -> BlocklistEntry:
    return BlocklistEntry.model_validate(await service.add_entry(session, actor, data.e164))


@router.get("/blocklist/{e164}", response_model=BlocklistEntry)
async def get_blocklist_entry(session: DB, actor: AdminActor, e164: E164Path) -> BlocklistEntry:
    return BlocklistEntry.model_validate(await service.access_entry(session, actor, e164))


@router.delete("/blocklist/{e164}", status_code=204)
async def remove_from_blocklist(session: DB, actor: AdminActor, e164: E164Path) -> Response:
    await service.remove_entry(session, actor, e164)
    return Response(status_code=204)


@router.post("/blocklist/import", response_model=ImportReport)
async def import_blocklist(
    session: DB,
    actor: AdminActor,
    file: Annotated[UploadFile, File(description="CSV with a 'number' column.")],
    country: Annotated[
        Region | None, Form(description="Region of national-format numbers.")
    ] = None,
) -> ImportReport:
    """Blocklist every valid number of a CSV (source `manual`); bad rows are reported."""
    check_admin(actor)
    now = SystemClock().now()

    async def store(batch: list[csvimport.Accepted]) -> tuple[set[str], int]:
        numbers = [row.e164 for row in batch]
        return await service.add_many(session, actor.tenant_id, numbers, "manual", now), 0

    return await importer.run_import(importer.chunks_of(file.file), country, store)


@router.get("/compliance/keywords", response_model=Keywords)
async def get_keywords(session: DB, actor: AdminActor) -> Keywords:
    return _keywords(await service.list_keywords(session, actor))


@router.put("/compliance/keywords", response_model=Keywords)
async def put_keywords(session: DB, actor: AdminActor, data: Keywords) -> Keywords:
    """Replace the tenant's own keywords. Reply texts are the tenant's `opt_out_reply`,
    `opt_in_reply` and `help_reply` (PATCH /tenant)."""
    words = {"opt_out": data.opt_out, "opt_in": data.opt_in, "help": data.help}
    return _keywords(await service.set_keywords(session, actor, words))


def _keywords(rows: Sequence[models.ComplianceKeyword]) -> Keywords:
    out = Keywords()
    for row in rows:
        getattr(out, row.action).append(row.word)
    return out
