"""Drive the pure CSV reader over an upload, in batches, with a store callback per batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import BinaryIO

from smshub.kit.errors import InvalidInput
from smshub.lists import csvimport
from smshub.lists.schemas import ImportReport

BATCH = 2000
CHUNK = 256 * 1024
# Stores a batch; returns the numbers already present and how many are blocklisted.
Store = Callable[[list[csvimport.Accepted]], Awaitable[tuple[set[str], int]]]


def chunks_of(file: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: file.read(CHUNK), b"")


async def run_import(
    chunks: Iterable[bytes],
    region: str | None,
    store: Store,
    on_reject: Callable[[csvimport.Rejected], Awaitable[None]] | None = None,
) -> ImportReport:
    """Read every row and hand accepted ones to `store` in batches. `store` returns the
    numbers it found already present (reported as duplicates) and the blocklisted count."""
    report = ImportReport()
    batch: list[csvimport.Accepted] = []
    headed = False

    async def flush() -> None:
        nonlocal batch
        present, blocklisted = await store(batch)
        report.blocklisted += blocklisted
        for row in batch:
            if row.e164 in present:
                await reject(csvimport.Rejected(row.row, row.e164, csvimport.DUPLICATE))
            else:
                report.imported += 1
        batch = []

    async def reject(row: csvimport.Rejected) -> None:
        report.reject(row.row, row.value, row.reason)
        if on_reject is not None:
            await on_reject(row)

    try:
        for item in csvimport.read_rows(
            csvimport.iter_records(csvimport.iter_lines(chunks)), region
        ):
            if isinstance(item, csvimport.Header):
                report.columns, headed = item.columns, True
            elif isinstance(item, csvimport.Rejected):
                await reject(item)
            else:
                batch.append(item)
                if len(batch) >= BATCH:
                    await flush()
    except csvimport.HeaderError as exc:
        raise InvalidInput(f"file: {exc}.", field="file", code="bad_csv") from exc
    if batch:
        await flush()
    report.rejected.sort(key=lambda r: r.row)
    if not headed:
        raise InvalidInput("file: the CSV is empty.", field="file", code="bad_csv")
    return report
