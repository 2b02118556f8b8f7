// Live campaign progress: campaign.progress events over SSE update bars and counts.
const source = new EventSource("/api/v1/events");
source.addEventListener("campaign.progress", (event) => {
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    return;
  }
  const c = data.counts;
  const skipped = c.skipped_blocklisted + c.skipped_invalid + c.skipped_duplicate + c.skipped_other;
  const done = c.sent + c.delivered + c.failed + skipped;
  document.querySelectorAll(`[data-campaign="${data.id}"]`).forEach((el) => {
    const bar = el.querySelector("progress");
    bar.max = c.total || 1;
    bar.value = done;
    el.querySelector("[data-counts]").textContent =
      `${done} / ${c.total} · sent ${c.sent + c.delivered} · delivered ${c.delivered} · failed ${c.failed} · skipped ${skipped}`;
  });
  document.querySelectorAll(`[data-status="${data.id}"]`).forEach((el) => {
    el.textContent = data.status;
  });
});
