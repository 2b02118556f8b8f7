"""Campaigns, lists and the blocklist pages (B1-B5): thin forms over the same services
as the API. Live progress comes over SSE (`campaign.progress`, static/campaigns.js)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from smshub.auth.actor import Actor
from smshub.billing import schemas as billing_schemas
from smshub.billing import service as billing
from smshub.campaigns import schemas as campaign_schemas
from smshub.campaigns import service as campaigns
from smshub.campaigns import views as campaign_views
from smshub.compliance import service as compliance
from smshub.kit.deps import DB
from smshub.kit.errors import SmshubError
from smshub.kit.validation import invalid_from
from smshub.lists import importer
from smshub.lists import service as lists
from smshub.lists.schemas import ImportReport
from smshub.models import RecipientList
from smshub.numbers import service as numbers_service
from smshub.web.deps import AdminActor, WebRoute
from smshub.web.pages import fetch_all
from smshub.web.render import redirect, render

router = APIRouter(route_class=WebRoute)
Status = Annotated[str | None, Query(pattern="^(draft|running|stopped|completed)$")]
OptText = Annotated[str | None, Form()]


@router.get("/campaigns")
async def campaigns_page(
    request: Request, session: DB, actor: AdminActor, status: Status = None
) -> Response:
    page = await campaigns.list_campaigns(session, actor, status=status, cursor=None, limit=100)
    all_lists = await lists.list_lists(session, actor, cursor=None, limit=200)
    numbers = await fetch_all(
        lambda c, n: numbers_service.list_numbers(session, actor, q=None, cursor=c, limit=n)
    )
    return render(
        request,
        "campaigns/campaigns.html",
        {"items": page.items, "status": status, "lists": all_lists.items, "numbers": numbers},
        actor=actor,
        nav="campaigns",
    )


@router.post("/campaigns")
async def campaigns_create(
    request: Request,
    session: DB,
    actor: AdminActor,
    name: Annotated[str, Form()],
    from_: Annotated[str, Form(alias="from")],
    body: Annotated[str, Form()],
    rate: Annotated[int, Form()] = 10,
    list_id: OptText = None,
    quiet_start: OptText = None,
    quiet_end: OptText = None,
    country: OptText = None,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    # The From menu lists numbers, then registered sender IDs as "sender_id:NAME".
    sender_id = from_.removeprefix("sender_id:") if from_.startswith("sender_id:") else ""
    values = {
        "name": name,
        "sender_type": "sender_id" if sender_id else "number",
        "from": sender_id or from_,
        "body": body,
        "rate": rate,
        "quiet_start": quiet_start or None,
        "quiet_end": quiet_end or None,
    }
    try:
        if file is not None and file.filename:
            fields = campaign_schemas.CampaignFields.model_validate(values)
            made, _ = await campaigns.create_from_csv(
                session, actor, fields, importer.chunks_of(file.file), country or None
            )
        else:
            data = campaign_schemas.CampaignCreate.model_validate({**values, "list_id": list_id})
            made = await campaigns.create_from_list(session, actor, data)
    except ValidationError as exc:
        return redirect(request, "/campaigns", flash=invalid_from(exc).message)
    except SmshubError as exc:
        return redirect(request, "/campaigns", flash=exc.message)
    return redirect(request, f"/campaigns/{made.id}", flash="Campaign created as a draft.")


@router.get("/campaigns/{campaign_id}")
async def campaign_page(
    request: Request, session: DB, actor: AdminActor, campaign_id: str
) -> Response:
    campaign = await campaigns.access_campaign_by_id(session, actor, campaign_id)
    shown = await campaign_views.present(session, campaign)
    preview = await campaign_views.preview(session, actor, campaign_id)
    return render(
        request,
        "campaigns/campaign.html",
        {"c": shown, "preview": preview},
        actor=actor,
        nav="campaigns",
    )


@router.post("/campaigns/{campaign_id}/{action}")
async def campaign_action(
    request: Request, session: DB, actor: AdminActor, campaign_id: str, action: str
) -> Response:
    try:
        if action in ("start", "restart"):
            await campaigns.start_campaign(session, actor, campaign_id)
        elif action == "stop":
            await campaigns.stop_campaign(session, actor, campaign_id)
    except SmshubError as exc:
        return redirect(request, f"/campaigns/{campaign_id}", flash=exc.message)
    return redirect(request, f"/campaigns/{campaign_id}")


@router.get("/lists")
async def lists_page(request: Request, session: DB, actor: AdminActor) -> Response:
    page = await lists.list_lists(session, actor, cursor=None, limit=200)
    return render(request, "campaigns/lists.html", {"items": page.items}, actor=actor, nav="lists")


@router.post("/lists")
async def lists_create(
    request: Request, session: DB, actor: AdminActor, name: Annotated[str, Form(max_length=200)]
) -> Response:
    if not name.strip():
        return redirect(request, "/lists", flash="Give the list a name.")
    made = await lists.create_list(session, actor, name.strip())
    return redirect(request, f"/lists/{made.id}", flash="List created.")


@router.get("/lists/{list_id}")
async def list_page(
    request: Request, session: DB, actor: AdminActor, list_id: str, cursor: str | None = None
) -> Response:
    found = await lists.access_list_by_id(session, actor, list_id)
    return await _list_view(request, session, actor, found, cursor=cursor, report=None)


@router.post("/lists/{list_id}/import")
async def list_import(
    request: Request,
    session: DB,
    actor: AdminActor,
    list_id: str,
    file: Annotated[UploadFile, File()],
    country: OptText = None,
) -> Response:
    found = await lists.access_list_by_id(session, actor, list_id)
    try:
        report = await lists.import_entries(
            session, actor, list_id, importer.chunks_of(file.file), country or None
        )
    except SmshubError as exc:
        return redirect(request, f"/lists/{list_id}", flash=exc.message)
    return await _list_view(request, session, actor, found, cursor=None, report=report)


async def _list_view(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    found: RecipientList,
    *,
    cursor: str | None,
    report: ImportReport | None,
) -> Response:
    """A list with its first page of entries, and the import report when there is one."""
    entries = await lists.list_entries(session, actor, found.id, cursor=cursor, limit=100)
    shown = (await lists.present(session, [found]))[0]
    return render(
        request,
        "campaigns/list.html",
        {"lst": shown, "entries": entries, "report": report},
        actor=actor,
        nav="lists",
    )


@router.get("/blocklist")
async def blocklist_page(request: Request, session: DB, actor: AdminActor) -> Response:
    rows = await compliance.list_blocklist(session, actor, cursor=None, limit=200)
    return render(
        request, "campaigns/blocklist.html", {"items": rows[:200]}, actor=actor, nav="blocklist"
    )


@router.post("/blocklist")
async def blocklist_add(
    request: Request, session: DB, actor: AdminActor, e164: Annotated[str, Form(max_length=32)]
) -> Response:
    from smshub.numbers.rules import e164_problem

    problem = e164_problem(e164.strip())
    if problem:
        return redirect(request, "/blocklist", flash=f"Number {problem}")
    await compliance.add_entry(session, actor, e164.strip())
    return redirect(request, "/blocklist", flash=f"{e164.strip()} is blocklisted.")


@router.post("/blocklist/{e164}/remove")
async def blocklist_remove(request: Request, session: DB, actor: AdminActor, e164: str) -> Response:
    try:
        await compliance.remove_entry(session, actor, e164)
    except SmshubError as exc:
        return redirect(request, "/blocklist", flash=exc.message)
    return redirect(request, "/blocklist", flash=f"{e164} removed from the blocklist.")


def _rules_text(rules: billing_schemas.RatingRules) -> str:
    return "\n".join(f"{r.prefix} {r.price_per_segment.normalize():f}" for r in rules.rules)


def _parse_rules(text: str) -> billing_schemas.RatingRules:
    """Lines of "prefix price"; a bad line is reported with its number."""
    rules = []
    for n, line in enumerate(text.splitlines(), start=1):
        parts = line.replace(",", " ").replace(";", " ").split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ValueError(f"Line {n}: write a prefix and a price, e.g. +1 0.0075.")
        try:
            rules.append(billing_schemas.RatingRule(prefix=parts[0], price_per_segment=parts[1]))
        except ValidationError as exc:
            raise ValueError(f"Line {n}: {invalid_from(exc).message}") from exc
    try:
        return billing_schemas.RatingRules(rules=rules)
    except ValidationError as exc:
        raise ValueError(invalid_from(exc).message) from exc


@router.get("/prices")
async def prices_page(request: Request, session: DB, actor: AdminActor) -> Response:
    text = _rules_text(await billing.get_rules(session, actor))
    context = {"text": text, "error": None}
    return render(request, "campaigns/prices.html", context, actor=actor, nav="prices")


@router.post("/prices")
async def prices_save(
    request: Request, session: DB, actor: AdminActor, rules: Annotated[str, Form()] = ""
) -> Response:
    try:
        data = _parse_rules(rules[:100_000])
    except ValueError as exc:
        context = {"text": rules[:100_000], "error": str(exc)}
        return render(
            request, "campaigns/prices.html", context, actor=actor, nav="prices", status_code=422
        )
    await billing.replace_rules(session, actor, data)
    return redirect(request, "/prices", flash=f"{len(data.rules)} prices saved.")
