// The message center (C1-C7): conversation list, thread, composer and details, kept in
// sync on every device of the user by Server-Sent Events (/api/v1/events). No polling.
//
// The server renders the first paint (messages/index.html) and hands over the same data
// in the `mc-boot` JSON block; from then on this module owns the DOM. Message text is
// user input: it only ever goes into the page through textContent, never as HTML.
//
// On every other page this module only fills the nav's unread badge, once.

import { analyze, checkLimits } from "./sms-counter.js";

const API = "/api/v1";
const LIST_PAGE = 30;
const THREAD_PAGE = 40;
const PREVIEW = 100;
const E164 = /^\+[1-9]\d{6,14}$/;
const EMOJI = [
  "😀", "😃", "😄", "😁", "😆", "😅", "😂", "🙂",
  "😉", "😊", "😍", "😘", "😎", "🤔", "😐", "😮",
  "😢", "😭", "😡", "🙏", "👍", "👎", "👌", "👏",
  "🙌", "💪", "👋", "🤝", "❤️", "💔", "🔥", "⭐",
  "✨", "🎉", "🎂", "🎁", "☕", "🍕", "🚗", "✈️",
  "🏠", "📞", "📅", "⏰", "✅", "❌", "⚠️", "❓",
];
const STATUS = {
  queued: ["clock", "Sending"],
  sending: ["clock", "Sending"],
  sent: ["check", "Sent"],
  delivered: ["dcheck", "Delivered"],
  failed: ["alert", "Not delivered"],
};

// ---------------------------------------------------------------------------------------
// Small helpers

const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

function icon(name, cls = "mc-i") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const use = document.createElementNS(SVG, "use");
  use.setAttribute("href", `#i-${name}`);
  svg.append(use);
  return svg;
}

function hidden(text) {
  return el("span", { class: "visually-hidden", text });
}

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
  } catch {
    return "";
  }
}

class ApiError extends Error {
  constructor(code, message, field, status) {
    super(message);
    this.code = code;
    this.field = field;
    this.status = status;
  }
}

async function api(method, path, body, { redirectOn401 = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  let res;
  try {
    res = await fetch(API + path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("network", "Could not reach the server. Check the connection and try again.", null, 0);
  }
  if (res.status === 204) return null;
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    if (res.status === 401 && redirectOn401) {
      window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
    }
    const err = (data && data.error) || {};
    throw new ApiError(err.code || "error", err.message || `The server answered ${res.status}.`, err.field || null, res.status);
  }
  return data;
}

function qs(params) {
  const kept = Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== "" && v !== false);
  return kept.length ? `?${new URLSearchParams(kept).toString()}` : "";
}

function debounce(fn, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function setBadge(total) {
  document.querySelectorAll("[data-unread-badge]").forEach((badge) => {
    badge.hidden = !total;
    const count = badge.querySelector("[data-unread-count]");
    if (count) count.textContent = total > 99 ? "99+" : String(total);
  });
}

// ---------------------------------------------------------------------------------------
// Every page but the message center: the nav badge, once (no stream, no polling).

const bootNode = document.getElementById("mc-boot");
if (!bootNode) {
  if (document.querySelector("[data-unread-badge]")) {
    api("GET", "/unread", undefined, { redirectOn401: false })
      .then((u) => setBadge(u.total))
      .catch(() => {});
  }
} else {
  messageCenter(JSON.parse(bootNode.textContent));
}

// ---------------------------------------------------------------------------------------
// The message center

function messageCenter(boot) {
  const me = boot.me;
  const prettyKnown = new Map(Object.entries(boot.pretty || {}));
  const S = {
    prefs: { ...me.preferences },
    convs: new Map(), // id -> conversation (every one this page knows)
    order: [], // ids shown in the list, newest activity first
    nextCursor: boot.conversations.next_cursor,
    filter: "all",
    q: boot.q || "",
    openId: boot.selected ? boot.selected.id : null,
    msgs: new Map(), // id -> message of the open thread
    olderCursor: boot.thread.next_cursor,
    unreadTotal: boot.unread_total,
    tempSeq: 0,
    listToken: 0,
    threadToken: 0,
    everLive: false,
    lastEventId: null,
    backoff: 1000,
    buffering: 0,
    pending: [],
  };
  const els = {
    root: $("#mc"),
    convs: $("#mc-convs"),
    listEmpty: $("#mc-list-empty"),
    more: $("#mc-convs-more"),
    moreBtn: $("#mc-convs-more-btn"),
    q: $("#mc-q"),
    markAll: $("#mc-mark-all"),
    noThread: $("#mc-no-thread"),
    inner: $("#mc-thread-inner"),
    scroll: $("#mc-scroll"),
    messages: $("#mc-messages"),
    older: $("#mc-older"),
    olderBtn: $("#mc-older-btn"),
    composer: $("#mc-composer"),
    body: $("#mc-body"),
    from: $("#mc-from"),
    counter: $("#mc-counter"),
    keys: $("#mc-keys"),
    send: $("#mc-send"),
    sendError: $("#mc-send-error"),
    emojiBtn: $("#mc-emoji-btn"),
    emoji: $("#mc-emoji"),
    details: $("#mc-details"),
    detailsBtn: $("#mc-details-btn"),
    mute: $("#mc-mute"),
    settingsBtn: $("#mc-settings-btn"),
    settings: $("#mc-settings"),
    newBtn: $("#mc-new-btn"),
    newDialog: $("#mc-new-dialog"),
    newForm: $("#mc-new-form"),
    newTo: $("#mc-new-to"),
    newFrom: $("#mc-new-from"),
    newOptions: $("#mc-new-options"),
    newError: $("#mc-new-error"),
    confirm: $("#mc-confirm"),
    toast: $("#mc-toast"),
  };
  const emptyTitle = els.listEmpty.querySelector("[data-empty-title]");
  const emptyText = els.listEmpty.querySelector("[data-empty-text]");
  const emptyTitleText = emptyTitle ? emptyTitle.textContent : "";
  const emptyTextNodes = emptyText ? Array.from(emptyText.childNodes).map((n) => n.cloneNode(true)) : [];
  const slot = (name) => els.root.querySelector(`[data-slot="${name}"]`);

  // ---- formatting --------------------------------------------------------------------

  function pretty(e164) {
    if (!e164) return "";
    if (prettyKnown.has(e164)) return prettyKnown.get(e164);
    const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
    return nanp ? `+1 ${nanp[1]}-${nanp[2]}-${nanp[3]}` : e164;
  }

  function initials(name) {
    const parts = (name || "").trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return "";
    const first = Array.from(parts[0])[0] || "";
    const last = parts.length > 1 ? Array.from(parts[parts.length - 1])[0] || "" : "";
    return (first + last).toUpperCase();
  }

  function tone(key) {
    const digits = parseInt((key || "").slice(-2), 10);
    return Number.isNaN(digits) ? 0 : digits % 8;
  }

  function avatar(name, key, size = "") {
    const node = el("span", {
      class: `mc-avatar${size ? ` mc-avatar-${size}` : ""} tone-${tone(key)}`,
      "aria-hidden": "true",
    });
    if (name) node.textContent = initials(name);
    else node.append(icon("person"));
    return node;
  }

  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
  const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short" });
  const shortDateFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  const yearDateFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
  const dayYearFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric" });
  const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

  function startOfDay(d) {
    return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  }

  function daysAgo(d) {
    return Math.round((startOfDay(new Date()) - startOfDay(d)) / 86400000);
  }

  function listTime(iso) {
    const d = new Date(iso);
    const ago = daysAgo(d);
    if (ago <= 0) return timeFmt.format(d);
    if (ago === 1) return "Yesterday";
    if (ago < 7) return weekdayFmt.format(d);
    return d.getFullYear() === new Date().getFullYear() ? shortDateFmt.format(d) : yearDateFmt.format(d);
  }

  function dayLabel(iso) {
    const d = new Date(iso);
    const ago = daysAgo(d);
    if (ago === 0) return "Today";
    if (ago === 1) return "Yesterday";
    return d.getFullYear() === new Date().getFullYear() ? dayFmt.format(d) : dayYearFmt.format(d);
  }

  function timeEl(iso, text) {
    return el("time", { datetime: iso, title: fullFmt.format(new Date(iso)), text });
  }

  function numberLabel(number) {
    return number.label ? `${number.label} (${pretty(number.e164)})` : pretty(number.e164);
  }

  function plural(n, noun) {
    return `${n} ${noun}${n === 1 ? "" : "s"}`;
  }

  // ---- toasts, announcements and the confirm dialog -------------------------------------

  function announce(text) {
    const region = $("#mc-announce");
    region.textContent = "";
    setTimeout(() => {
      region.textContent = text.slice(0, 300);
    }, 50);
  }

  let toastTimer = 0;
  function toast(text, kind = "info") {
    els.toast.textContent = text;
    els.toast.dataset.kind = kind;
    els.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      els.toast.hidden = true;
    }, 4000);
  }

  function confirmDialog({ title, text, ok }) {
    return new Promise((resolve) => {
      $("#mc-confirm-title").textContent = title;
      $("#mc-confirm-text").textContent = text;
      $("#mc-confirm-ok").textContent = ok;
      els.confirm.returnValue = "";
      els.confirm.addEventListener("close", () => resolve(els.confirm.returnValue === "ok"), { once: true });
      els.confirm.showModal();
      $("#mc-confirm-ok").focus();
    });
  }

  // ---- conversation list -------------------------------------------------------------

  function sortOrder() {
    S.order.sort((a, b) => {
      const ca = S.convs.get(a);
      const cb = S.convs.get(b);
      const ta = Date.parse(ca.last_message_at);
      const tb = Date.parse(cb.last_message_at);
      return tb - ta || (a < b ? 1 : a > b ? -1 : 0);
    });
  }

  function several() {
    return me.numbers.length > 1;
  }

  function convItem(c) {
    const active = c.id === S.openId;
    const bottom = el(
      "span",
      { class: "mc-conv-bottom" },
      el(
        "span",
        { class: "mc-conv-preview" },
        c.last_direction === "out" ? el("span", { class: "mc-prev-out" }, icon("reply"), hidden("Sent: ")) : null,
        c.preview,
      ),
      c.blocked ? el("span", { class: "mc-conv-flag", title: "Blocked" }, icon("block"), hidden("Blocked")) : null,
      c.muted ? el("span", { class: "mc-conv-flag", title: "Muted" }, icon("mute"), hidden("Muted")) : null,
      c.unread ? el("span", { class: "mc-pill" }, String(c.unread), hidden(" unread")) : null,
    );
    const link = el(
      "a",
      {
        class: `mc-conv${c.unread ? " is-unread" : ""}${active ? " is-active" : ""}`,
        href: `/messages/${c.id}`,
        "data-id": c.id,
        "aria-current": active ? "true" : null,
        tabindex: "-1",
      },
      avatar(c.contact_name, c.remote),
      el(
        "span",
        { class: "mc-conv-main" },
        el(
          "span",
          { class: "mc-conv-top" },
          el("span", { class: "mc-conv-name", text: c.contact_name || pretty(c.remote) }),
          el("span", { class: "mc-conv-time" }, timeEl(c.last_message_at, listTime(c.last_message_at))),
        ),
        bottom,
        several() ? el("span", { class: "mc-conv-via", text: c.number.label || pretty(c.number.e164) }) : null,
      ),
    );
    return el("li", { class: "mc-conv-li" }, link);
  }

  function renderList() {
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest(".mc-conv");
    const focusedId = focused ? focused.dataset.id : null;
    els.convs.replaceChildren(...S.order.map((id) => convItem(S.convs.get(id))));
    const links = els.convs.querySelectorAll(".mc-conv");
    const tabStop = els.convs.querySelector(".mc-conv.is-active") || links[0];
    if (tabStop) tabStop.tabIndex = 0;
    if (focusedId) {
      const again = els.convs.querySelector(`.mc-conv[data-id="${CSS.escape(focusedId)}"]`);
      if (again) {
        links.forEach((l) => (l.tabIndex = -1));
        again.tabIndex = 0;
        again.focus({ preventScroll: true });
      }
    }
    els.more.hidden = !S.nextCursor;
    const empty = S.order.length === 0;
    els.listEmpty.hidden = !empty;
    if (empty && emptyTitle && emptyText) {
      if (S.q) {
        emptyTitle.textContent = `No conversations match “${S.q}”`;
        emptyText.replaceChildren("Search looks at names, numbers and message text.");
      } else if (S.filter === "unread") {
        emptyTitle.textContent = "You're all caught up";
        emptyText.replaceChildren("No conversation has unread messages.");
      } else {
        emptyTitle.textContent = emptyTitleText;
        emptyText.replaceChildren(...emptyTextNodes.map((n) => n.cloneNode(true)));
      }
    }
    updateTotals();
  }

  function updateTotals() {
    setBadge(S.unreadTotal);
    els.markAll.disabled = !S.unreadTotal;
    document.title = `${S.unreadTotal ? `(${S.unreadTotal}) ` : ""}Messages · smshub`;
  }

  function remember(conv) {
    S.convs.set(conv.id, conv);
    return conv;
  }

  function listAccepts(conv) {
    if (S.q) return false; // a search result list only changes when searched again
    if (S.filter === "unread") return conv.unread > 0 || conv.id === S.openId;
    return true;
  }

  function showInList(conv) {
    if (!S.order.includes(conv.id) && listAccepts(conv)) S.order.push(conv.id);
    sortOrder();
  }

  async function loadList({ append = false } = {}) {
    const token = ++S.listToken;
    const params = { q: S.q, unread: S.filter === "unread" ? "true" : null, limit: LIST_PAGE, cursor: append ? S.nextCursor : null };
    els.root.classList.add("is-loading-list");
    try {
      // The page is applied before the events that arrived meanwhile (see openConversation).
      const applied = await buffered(async () => {
        const page = await api("GET", `/conversations${qs(params)}`);
        if (token !== S.listToken) return false;
        const ids = page.items.map((c) => remember(c).id);
        S.order = append ? S.order.concat(ids.filter((id) => !S.order.includes(id))) : ids;
        S.nextCursor = page.next_cursor;
        return true;
      });
      if (applied) renderList();
    } catch (err) {
      if (token === S.listToken) toast(err.message, "error");
    } finally {
      if (token === S.listToken) els.root.classList.remove("is-loading-list");
    }
  }

  async function fetchConversation(id) {
    try {
      return remember(await api("GET", `/conversations/${encodeURIComponent(id)}`));
    } catch (err) {
      if (err.status === 404) return null;
      throw err;
    }
  }

  // ---- the open thread -----------------------------------------------------------------

  function openConv() {
    return S.openId ? S.convs.get(S.openId) || null : null;
  }

  function ordered() {
    return Array.from(S.msgs.values()).sort((a, b) => {
      const ta = Date.parse(a.created_at);
      const tb = Date.parse(b.created_at);
      if (ta !== tb) return ta - tb;
      const pa = a.id.startsWith("tmp-");
      const pb = b.id.startsWith("tmp-");
      if (pa !== pb) return pa ? 1 : -1;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
  }

  function dayKey(m) {
    return startOfDay(new Date(m.created_at));
  }

  function senderId(m) {
    return m.sent_by ? m.sent_by.id : null;
  }

  function showsSender(prev, m, shared) {
    if (!shared || m.direction !== "out") return false;
    if (!prev || prev.direction !== "out" || dayKey(prev) !== dayKey(m)) return true;
    if (senderId(prev) !== senderId(m)) return true;
    return Date.parse(m.created_at) - Date.parse(prev.created_at) > 10 * 60 * 1000;
  }

  function statusEl(m) {
    const st = STATUS[m.status];
    if (!st) return null;
    const title = m.status === "failed" && m.error ? `Not delivered: ${m.error}` : st[1];
    return el("span", { class: "mc-status", title }, icon(st[0]), hidden(st[1]));
  }

  function messageItem(m, showSender) {
    const out = m.direction === "out";
    const pending = m.id.startsWith("tmp-");
    const li = el("li", { class: `mc-msg mc-${m.direction} is-${m.status}${pending ? " is-pending" : ""}`, "data-id": m.id });
    if (showSender) {
      li.append(
        el(
          "div",
          { class: "mc-sender" },
          ...(m.sent_by
            ? [
                avatar(m.sent_by.name, m.sent_by.extension, "xs"),
                el("span", { class: "mc-sender-name", text: m.sent_by.name }),
                " ",
                el("span", { class: "mc-sender-ext", text: `Ext. ${m.sent_by.extension}` }),
              ]
            : [el("span", { class: "mc-sender-name", text: "Automatic reply" })]),
        ),
      );
    }
    const meta = el("span", { class: "mc-meta" }, timeEl(m.created_at, timeFmt.format(new Date(m.created_at))));
    if (out) {
      const st = statusEl(m);
      if (st) meta.append(st);
    }
    const row = el(
      "div",
      { class: "mc-bubble-row" },
      el("div", { class: "mc-bubble" }, el("p", { class: "mc-text", text: m.body }), meta),
      pending
        ? null
        : el(
            "button",
            { type: "button", class: "mc-msg-more", "aria-haspopup": "menu", "aria-expanded": "false", title: "More", "data-action": "message-menu" },
            icon("more"),
            hidden("Message actions"),
          ),
    );
    li.append(row);
    if (m.status === "failed" && out) {
      li.append(
        el(
          "div",
          { class: "mc-failed" },
          el("span", { class: "mc-failed-text", title: m.error || "" }, icon("alert"), m.error ? `Not delivered: ${m.error}` : "Not delivered"),
          el("button", { type: "button", class: "btn btn-sm mc-retry", "data-action": "retry" }, icon("retry"), "Retry"),
        ),
      );
    }
    return li;
  }

  function renderThread(scroll = "auto") {
    const sc = els.scroll;
    const atBottom = sc.scrollHeight - sc.scrollTop - sc.clientHeight < 80;
    const fromBottom = sc.scrollHeight - sc.scrollTop;
    const focused = document.activeElement;
    const focusId = focused && focused.closest && els.messages.contains(focused) ? focused.closest(".mc-msg")?.dataset.id : null;
    const focusAction = focusId ? focused.dataset.action : null;
    const conv = openConv();
    const shared = Boolean(conv && conv.shared_with && conv.shared_with.length);
    const nodes = [];
    let prev = null;
    for (const m of ordered()) {
      if (!prev || dayKey(prev) !== dayKey(m)) {
        nodes.push(el("li", { class: "mc-day", role: "separator" }, el("span", { text: dayLabel(m.created_at) })));
      }
      nodes.push(messageItem(m, showsSender(prev, m, shared)));
      prev = m;
    }
    if (!nodes.length) {
      nodes.push(el("li", { class: "mc-thread-empty" }, icon("chat"), el("span", { text: "No messages yet. Write the first one below." })));
    }
    els.messages.replaceChildren(...nodes);
    els.older.hidden = !S.olderCursor;
    if (scroll === "bottom" || (scroll === "auto" && atBottom)) sc.scrollTop = sc.scrollHeight;
    else sc.scrollTop = sc.scrollHeight - fromBottom;
    if (focusId) {
      const again = els.messages.querySelector(`.mc-msg[data-id="${CSS.escape(focusId)}"] [data-action="${focusAction}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }

  function renderHeader() {
    const conv = openConv();
    els.noThread.hidden = Boolean(conv);
    els.inner.hidden = !conv;
    els.details.hidden = !conv;
    els.root.classList.toggle("has-thread", Boolean(conv));
    if (!conv) return;
    const name = conv.contact_name || pretty(conv.remote);
    const shared = conv.shared_with && conv.shared_with.length > 0;
    slot("avatar").replaceChildren(avatar(conv.contact_name, conv.remote));
    slot("name").textContent = name;
    slot("remote").textContent = conv.contact_name ? `${pretty(conv.remote)} · ` : "";
    slot("via").textContent = numberLabel(conv.number);
    slot("shared-chip").hidden = !shared;
    slot("blocked-chip").hidden = !conv.blocked;
    slot("muted-chip").hidden = !conv.muted;
    slot("blocked-banner").hidden = !conv.blocked;
    slot("avatar-lg").replaceChildren(avatar(conv.contact_name, conv.remote, "lg"));
    slot("contact-name").textContent = name;
    slot("contact-number").textContent = conv.contact_name ? pretty(conv.remote) : "";
    slot("contact-number").hidden = !conv.contact_name;
    const note = slot("contact-note");
    if (conv.contact_name) note.replaceChildren("In your phonebook");
    else note.replaceChildren("Not in your phonebook. ", el("a", { href: "/contacts/new", text: "Add a contact" }));
    slot("our-number").replaceChildren(
      el("span", { class: "num", text: pretty(conv.number.e164) }),
      conv.number.label ? el("span", { class: "muted", text: ` ${conv.number.label}` }) : "",
    );
    slot("members-card").hidden = !shared;
    slot("members").replaceChildren(
      ...(conv.shared_with || []).map((u) =>
        el(
          "li",
          {},
          avatar(u.name, u.extension, "sm"),
          el("span", { class: "mc-member-name" }, u.name, u.id === me.user.id ? el("span", { class: "muted", text: " (you)" }) : null),
          el("span", { class: "mc-member-ext", text: `Ext. ${u.extension}` }),
        ),
      ),
    );
    els.mute.checked = Boolean(conv.muted);
    slot("block-label").textContent = conv.blocked ? "Unblock number" : "Block number";
    slot("block-btn").dataset.action = conv.blocked ? "unblock" : "block";
    if (els.from && document.activeElement !== els.from) {
      const option = Array.from(els.from.options).find((o) => o.value === conv.number.e164);
      if (option) els.from.value = conv.number.e164;
    }
    document.querySelectorAll(".mc-conv").forEach((a) => {
      const active = a.dataset.id === conv.id;
      a.classList.toggle("is-active", active);
      if (active) a.setAttribute("aria-current", "true");
      else a.removeAttribute("aria-current");
    });
  }

  function setMessages(items) {
    S.msgs = new Map(items.map((m) => [m.id, m]));
  }

  function upsertMessage(m) {
    const known = S.msgs.get(m.id);
    if (known && known.status === "delivered" && ["queued", "sending", "sent"].includes(m.status)) {
      m = { ...m, status: known.status, delivered_at: known.delivered_at };
    }
    S.msgs.set(m.id, known ? { ...known, ...m } : m);
  }

  async function openConversation(id, { push = true, focus = true } = {}) {
    closePopovers();
    const token = ++S.threadToken;
    const firstOpen = S.openId !== id;
    S.openId = id;
    if (push && window.location.pathname !== `/messages/${id}`) {
      window.history.pushState({ id }, "", `/messages/${id}`);
    }
    if (firstOpen) {
      setMessages([]);
      S.olderCursor = null;
      clearSendError();
    }
    renderHeader();
    els.root.classList.add("is-loading-thread");
    // Events that arrive while the thread loads wait until its page is in place: applied
    // before it, a new message would be replaced by the older snapshot and lost.
    S.buffering++;
    try {
      const [conv, page] = await Promise.all([
        fetchConversation(id),
        api("GET", `/conversations/${encodeURIComponent(id)}/messages${qs({ limit: THREAD_PAGE })}`).catch((err) => {
          if (err.status === 404) return null;
          throw err;
        }),
      ]);
      if (token !== S.threadToken) return;
      if (!conv || !page) {
        toast("That conversation is no longer available.", "error");
        closeConversation();
        return;
      }
      const pendingTemps = Array.from(S.msgs.values()).filter((m) => m.id.startsWith("tmp-"));
      setMessages(page.items.slice().reverse());
      pendingTemps.forEach(upsertMessage);
      S.olderCursor = page.next_cursor;
      showInList(conv);
      renderList();
      renderHeader();
      renderThread("bottom");
      updateComposer();
      if (focus && window.matchMedia("(pointer: fine)").matches) els.body.focus({ preventScroll: true });
      if (conv.unread > 0) markRead(id);
    } catch (err) {
      if (token === S.threadToken) toast(err.message, "error");
    } finally {
      S.buffering--;
      if (S.buffering === 0) flushPending();
      if (token === S.threadToken) els.root.classList.remove("is-loading-thread");
    }
  }

  function closeConversation({ push = true } = {}) {
    S.openId = null;
    S.threadToken++;
    setMessages([]);
    if (push && window.location.pathname !== "/messages") window.history.pushState({}, "", "/messages");
    renderHeader();
    renderList();
  }

  async function loadOlder() {
    const conv = openConv();
    if (!conv || !S.olderCursor || els.olderBtn.disabled) return;
    const id = conv.id;
    els.olderBtn.disabled = true;
    try {
      const page = await api("GET", `/conversations/${encodeURIComponent(id)}/messages${qs({ cursor: S.olderCursor, limit: THREAD_PAGE })}`);
      if (S.openId !== id) return;
      page.items.forEach((m) => {
        if (!S.msgs.has(m.id)) S.msgs.set(m.id, m);
      });
      S.olderCursor = page.next_cursor;
      renderThread("preserve");
    } catch (err) {
      toast(err.message, "error");
    } finally {
      els.olderBtn.disabled = false;
    }
  }

  const readTimers = new Map(); // conversation id -> pending read (coalesces bursts)
  function markRead(id) {
    clearTimeout(readTimers.get(id));
    readTimers.set(id, setTimeout(() => {
      readTimers.delete(id);
      const conv = S.convs.get(id);
      if (conv && conv.unread) {
        S.unreadTotal = Math.max(0, S.unreadTotal - conv.unread);
        conv.unread = 0;
        renderList();
      }
      api("POST", `/conversations/${encodeURIComponent(id)}/read`).catch((err) => toast(err.message, "error"));
    }, 150));
  }

  function threadVisible() {
    return document.visibilityState === "visible";
  }

  // ---- composer ------------------------------------------------------------------------

  function currentInfo() {
    return analyze(els.body.value, { smart: me.policy.smart_encoding });
  }

  function updateComposer() {
    const text = els.body.value;
    const info = currentInfo();
    const problem = checkLimits(info, { maxSegments: me.policy.max_segments, maxChars: me.policy.max_chars });
    let label;
    if (!text) {
      label = `0 chars · up to ${plural(me.policy.max_segments, "segment")}`;
    } else if (problem) {
      label = `Too long: ${problem.replace(/^is /, "")}`;
    } else {
      const smart = info.text !== text ? " (smart)" : "";
      label = `${plural(info.chars, "char")} · ${info.encoding}${smart} · ${plural(info.segments, "segment")} · ${info.remaining} left`;
    }
    els.counter.textContent = label;
    els.counter.classList.toggle("is-over", Boolean(problem));
    els.counter.classList.toggle("is-ucs2", info.encoding === "UCS-2" && Boolean(text));
    els.counter.title =
      info.encoding === "UCS-2" && text
        ? "Some characters (emoji, accents outside GSM-7) make this a UCS-2 message: 70 characters per segment, 67 when split."
        : "GSM-7: 160 characters in one segment, 153 per segment when split.";
    const conv = openConv();
    els.send.disabled = !text.trim() || Boolean(problem) || !me.sms_enabled || !conv;
    autosize();
  }

  function autosize() {
    const ta = els.body;
    ta.style.height = "auto";
    ta.style.height = `${Math.min(ta.scrollHeight + 2, 220)}px`;
  }

  function showSendError(text) {
    els.sendError.replaceChildren(icon("alert"), el("span", { text }));
    els.sendError.hidden = false;
  }

  function clearSendError() {
    els.sendError.hidden = true;
    els.sendError.replaceChildren();
  }

  function updateKeysHint() {
    els.keys.textContent = S.prefs.enter_sends
      ? "Enter to send · Shift+Enter for a new line"
      : "Shift+Enter to send · Enter for a new line";
  }

  async function send() {
    const conv = openConv();
    const body = els.body.value;
    if (!conv || !body.trim()) return;
    const info = currentInfo();
    const problem = checkLimits(info, { maxSegments: me.policy.max_segments, maxChars: me.policy.max_chars });
    if (problem) {
      showSendError(`This message ${problem}.`);
      return;
    }
    clearSendError();
    const from = (els.from && els.from.value) || conv.number.e164;
    const same = from === conv.number.e164;
    const temp = {
      id: `tmp-${++S.tempSeq}`,
      conversation_id: conv.id,
      direction: "out",
      from,
      to: conv.remote,
      body: info.text,
      status: "queued",
      encoding: info.encoding,
      segments: info.segments,
      error: null,
      sent_by: me.user,
      created_at: new Date().toISOString(),
    };
    if (same) {
      S.msgs.set(temp.id, temp);
      renderThread("bottom");
    }
    els.body.value = "";
    updateComposer();
    try {
      const res = await api("POST", "/messages", { from, to: conv.remote, body });
      S.msgs.delete(temp.id);
      if (res.status === "blocked") {
        const target = S.convs.get(res.conversation_id);
        if (target) target.blocked = true;
        toast("STOP blocks this number: its messages now go to quarantine. Unblock it in Details.");
      } else if (same && res.id && S.openId === conv.id && !S.msgs.has(res.id)) {
        S.msgs.set(res.id, { ...temp, id: res.id, status: res.status, encoding: res.encoding, segments: res.segments });
      }
      if (!same && res.conversation_id) {
        await openConversation(res.conversation_id);
        return;
      }
      if (S.openId === conv.id) {
        renderThread("bottom");
        renderHeader();
      }
    } catch (err) {
      S.msgs.delete(temp.id);
      if (S.openId === conv.id) renderThread("auto");
      if (!els.body.value) {
        els.body.value = body;
        updateComposer();
      }
      showSendError(err.message);
    }
  }

  function insertAtCaret(text) {
    const ta = els.body;
    const start = ta.selectionStart ?? ta.value.length;
    const end = ta.selectionEnd ?? ta.value.length;
    ta.setRangeText(text, start, end, "end");
    ta.dispatchEvent(new Event("input", { bubbles: true }));
  }

  // ---- popovers: emoji, settings, message menu -------------------------------------------

  function buildEmoji() {
    const grid = el("div", { class: "mc-emoji-grid", role: "grid", "aria-label": "Emoji" });
    const cols = 8;
    for (let r = 0; r < EMOJI.length / cols; r++) {
      const row = el("div", { role: "row", class: "mc-emoji-row" });
      EMOJI.slice(r * cols, r * cols + cols).forEach((e, i) => {
        row.append(
          el("button", { type: "button", class: "mc-emoji-btn", role: "gridcell", "data-emoji": e, tabindex: r === 0 && i === 0 ? "0" : "-1", "aria-label": e, text: e }),
        );
      });
      grid.append(row);
    }
    els.emoji.replaceChildren(grid);
    grid.addEventListener("click", (event) => {
      const btn = event.target.closest("[data-emoji]");
      if (!btn) return;
      closePopovers();
      insertAtCaret(btn.dataset.emoji);
      els.body.focus();
    });
    grid.addEventListener("keydown", (event) => {
      const buttons = Array.from(grid.querySelectorAll("[data-emoji]"));
      const i = buttons.indexOf(document.activeElement);
      if (i < 0) return;
      const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -i, End: buttons.length - 1 - i };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const next = buttons[Math.max(0, Math.min(buttons.length - 1, i + moves[event.key]))];
      buttons.forEach((b) => (b.tabIndex = -1));
      next.tabIndex = 0;
      next.focus();
    });
  }

  let openPopover = null;

  function togglePopover(button, panel, focusFirst) {
    if (openPopover && openPopover.panel === panel) {
      closePopovers(true);
      return;
    }
    closePopovers();
    panel.hidden = false;
    button.setAttribute("aria-expanded", "true");
    openPopover = { button, panel };
    if (focusFirst) {
      const first = panel.querySelector('[tabindex="0"], button, input, select');
      if (first) first.focus();
    }
  }

  function closePopovers(returnFocus = false) {
    if (openPopover) {
      const { button, panel } = openPopover;
      panel.hidden = true;
      button.setAttribute("aria-expanded", "false");
      openPopover = null;
      if (returnFocus) button.focus();
    }
    closeMenu();
  }

  let menu = null;

  function closeMenu(returnFocus = false) {
    if (!menu) return;
    const { node, button } = menu;
    node.remove();
    button.setAttribute("aria-expanded", "false");
    button.closest(".mc-msg")?.classList.remove("has-menu");
    menu = null;
    if (returnFocus) button.focus();
  }

  function openMessageMenu(button) {
    const li = button.closest(".mc-msg");
    const m = S.msgs.get(li.dataset.id);
    if (!m) return;
    if (menu && menu.button === button) {
      closeMenu(true);
      return;
    }
    closePopovers();
    const item = (label, ico, action, danger = false) =>
      el("button", { type: "button", role: "menuitem", class: `mc-menu-item${danger ? " is-danger" : ""}`, tabindex: "-1", onclick: action }, icon(ico), label);
    const node = el(
      "div",
      { class: "mc-menu", role: "menu", "aria-label": "Message actions" },
      item("Copy text", "copy", () => {
        closeMenu(true);
        copyText(m.body);
      }),
      item(
        "Delete",
        "trash",
        () => {
          closeMenu();
          deleteMessage(m);
        },
        true,
      ),
    );
    node.addEventListener("keydown", (event) => {
      const items = Array.from(node.querySelectorAll("[role=menuitem]"));
      const i = items.indexOf(document.activeElement);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const next = items[(i + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length];
        next.focus();
      } else if (event.key === "Tab") {
        closeMenu();
      }
    });
    button.closest(".mc-bubble-row").append(node);
    li.classList.add("has-menu");
    button.setAttribute("aria-expanded", "true");
    menu = { node, button };
    node.querySelector("[role=menuitem]").focus();
  }

  async function copyText(text) {
    try {
      await navigator.clipboard.writeText(text);
      toast("Copied to the clipboard.");
    } catch {
      const ta = el("textarea", { class: "mc-offscreen", readonly: true });
      ta.value = text;
      document.body.append(ta);
      ta.select();
      const ok = document.execCommand("copy");
      ta.remove();
      toast(ok ? "Copied to the clipboard." : "This browser did not allow copying.", ok ? "info" : "error");
    }
  }

  async function deleteMessage(m) {
    const yes = await confirmDialog({
      title: "Delete this message?",
      text: "It is removed from this conversation for everyone who shares the number.",
      ok: "Delete",
    });
    if (!yes) return;
    try {
      await api("DELETE", `/messages/${encodeURIComponent(m.id)}`);
      removeMessage(m.id, m.conversation_id);
      toast("Message deleted.");
    } catch (err) {
      toast(err.message, "error");
    }
  }

  function removeMessage(id, conversationId) {
    if (S.openId === conversationId && S.msgs.delete(id)) renderThread("preserve");
    refreshConversation(conversationId);
  }

  async function retry(m) {
    try {
      const updated = await api("POST", `/messages/${encodeURIComponent(m.id)}/retry`);
      upsertMessage(updated);
      renderThread("auto");
    } catch (err) {
      toast(err.message, "error");
    }
  }

  // ---- preferences ---------------------------------------------------------------------

  function updatePermissionNote() {
    const box = $("#mc-permission");
    const text = $("#mc-permission-text");
    const btn = $("#mc-permission-btn");
    if (!("Notification" in window)) {
      box.hidden = !S.prefs.notify_browser;
      text.textContent = "This browser does not support notifications.";
      btn.hidden = true;
      return;
    }
    const perm = Notification.permission;
    box.hidden = !S.prefs.notify_browser || perm === "granted";
    btn.hidden = perm !== "default";
    text.textContent = perm === "denied" ? "Notifications are blocked in this browser's site settings." : "The browser asks once.";
  }

  async function savePreference(input) {
    const key = input.dataset.pref;
    const value = input.checked;
    const note = $("#mc-settings-note");
    try {
      const prefs = await api("PATCH", "/me/preferences", { [key]: value });
      S.prefs = prefs;
      note.textContent = "Saved.";
    } catch (err) {
      input.checked = !value;
      note.textContent = err.message;
    }
    updateKeysHint();
    updatePermissionNote();
  }

  // ---- notifications ---------------------------------------------------------------------

  let sound = null;
  function playSound() {
    try {
      if (!sound) sound = new Audio(boot.sound_url);
      sound.currentTime = 0;
      const played = sound.play();
      if (played) played.catch(() => {});
    } catch {
      /* no audio here */
    }
  }

  function onceAcrossTabs(key, fn) {
    // Several tabs of the same user get the same event: one of them rings.
    if (!navigator.locks) {
      fn();
      return;
    }
    navigator.locks
      .request(`smshub-notify-${key}`, { ifAvailable: true }, (lock) => {
        if (!lock) return undefined;
        fn();
        return new Promise((resolve) => setTimeout(resolve, 3000));
      })
      .catch(() => {});
  }

  function notify(m) {
    const conv = S.convs.get(m.conversation_id);
    if (conv && conv.muted) return;
    if (m.conversation_id === S.openId && threadVisible()) return;
    onceAcrossTabs(m.id, () => {
      if (S.prefs.notify_sound) playSound();
      if (S.prefs.notify_browser && "Notification" in window && Notification.permission === "granted") {
        const title = conv ? conv.contact_name || pretty(conv.remote) : pretty(m.from);
        try {
          const n = new Notification(title, { body: m.body.slice(0, 160), tag: m.conversation_id, icon: "/static/favicon.svg" });
          n.onclick = () => {
            window.focus();
            openConversation(m.conversation_id);
            n.close();
          };
        } catch {
          /* some browsers only notify from a service worker */
        }
      }
    });
  }

  // ---- live events -----------------------------------------------------------------------

  // While a fetch that installs state is in flight, events wait and are applied after it
  // (in order), so a snapshot taken before an event never overwrites what the event said.
  async function buffered(fn) {
    S.buffering++;
    try {
      return await fn();
    } finally {
      S.buffering--;
      if (S.buffering === 0) flushPending();
    }
  }

  function flushPending() {
    while (S.pending.length && S.buffering === 0) {
      const [type, data] = S.pending.shift();
      applyEvent(type, data);
    }
  }

  function onEvent(type, data) {
    if (S.buffering > 0) S.pending.push([type, data]);
    else applyEvent(type, data);
  }

  function applyEvent(type, data) {
    switch (type) {
      case "message.created":
        onMessageCreated(data);
        break;
      case "message.status":
        onMessageStatus(data);
        break;
      case "unread.changed":
        onUnread(data);
        break;
      case "conversation.updated":
        onConversationUpdated(data);
        break;
      case "message.deleted":
        removeMessage(data.id, data.conversation_id);
        break;
      case "resync":
        reloadAll();
        break;
      default:
        break;
    }
  }

  async function onMessageCreated(data) {
    let m = data;
    if (m.truncated) {
      try {
        m = await api("GET", `/messages/${encodeURIComponent(m.id)}`);
      } catch {
        return;
      }
    }
    const cid = m.conversation_id;
    let conv = S.convs.get(cid);
    if (conv) {
      if (Date.parse(m.created_at) >= Date.parse(conv.last_message_at)) {
        conv.last_message_at = m.created_at;
        conv.preview = m.body.slice(0, PREVIEW);
        conv.last_direction = m.direction;
      }
      showInList(conv);
      renderList();
    } else {
      conv = await buffered(() => fetchConversation(cid).catch(() => null));
      if (conv) {
        showInList(conv);
        renderList();
      }
    }
    if (cid === S.openId) {
      const fresh = !S.msgs.has(m.id);
      if (fresh) dropTempFor(m);
      upsertMessage(m);
      renderThread("auto");
      // The thread is re-rendered, not a live region: say what arrived, once.
      if (fresh && m.direction === "in") announce(`New message from ${conv ? conv.contact_name || pretty(conv.remote) : pretty(m.from)}: ${m.body}`);
    }
    if (m.direction === "in") notify(m);
  }

  // Our own message came back on the stream before the POST answered: it replaces the
  // pending bubble of the same text, so the thread never shows it twice.
  function dropTempFor(m) {
    if (m.direction !== "out" || !m.sent_by || m.sent_by.id !== me.user.id) return;
    const temp = ordered().find((t) => t.id.startsWith("tmp-") && t.body === m.body);
    if (temp) S.msgs.delete(temp.id);
  }

  function onMessageStatus(data) {
    if (data.conversation_id !== S.openId) return;
    const m = S.msgs.get(data.id);
    if (!m) return;
    upsertMessage({
      ...m,
      status: data.status,
      error: data.error,
      ...(data.status === "sent" ? { sent_at: data.at } : {}),
      ...(data.status === "delivered" ? { delivered_at: data.at } : {}),
    });
    renderThread("auto");
  }

  async function onUnread(data) {
    S.unreadTotal = data.total;
    if (data.conversation_id) {
      const conv = S.convs.get(data.conversation_id);
      const reading = data.conversation_id === S.openId && data.unread > 0 && threadVisible();
      if (reading) {
        // The user is looking at it: read at once, without a flash of the count.
        S.unreadTotal = Math.max(0, data.total - data.unread);
        if (conv) conv.unread = 0;
        markRead(S.openId);
      } else if (conv && data.unread !== null && data.unread !== undefined) {
        conv.unread = data.unread;
        showInList(conv);
      }
      renderList();
      return;
    }
    // Mark all as read (or another change of many): take the per-conversation counts.
    try {
      await buffered(async () => {
        const unread = await api("GET", "/unread");
        const counts = new Map(unread.conversations.map((c) => [c.id, c.unread]));
        S.convs.forEach((c) => {
          c.unread = counts.get(c.id) || 0;
        });
        S.unreadTotal = unread.total;
      });
    } catch {
      /* the next event corrects it */
    }
    renderList();
  }

  function onConversationUpdated(data) {
    const conv = S.convs.get(data.id);
    if (!conv) return;
    if (typeof data.blocked === "boolean") conv.blocked = data.blocked;
    renderList();
    if (data.id === S.openId) renderHeader();
  }

  async function refreshConversation(id) {
    const conv = await buffered(() => fetchConversation(id).catch(() => null));
    if (!conv) return;
    renderList();
    if (id === S.openId) renderHeader();
  }

  async function reloadAll() {
    const id = S.openId;
    try {
      await buffered(async () => {
        const params = { q: S.q, unread: S.filter === "unread" ? "true" : null, limit: LIST_PAGE };
        const [page, unread, conv, thread] = await Promise.all([
          api("GET", `/conversations${qs(params)}`),
          api("GET", "/unread"),
          id ? fetchConversation(id) : null,
          id ? api("GET", `/conversations/${encodeURIComponent(id)}/messages${qs({ limit: THREAD_PAGE })}`).catch(() => null) : null,
        ]);
        S.listToken++;
        S.order = page.items.map((c) => remember(c).id);
        S.nextCursor = page.next_cursor;
        S.unreadTotal = unread.total;
        if (id && S.openId === id) {
          if (!conv || !thread) {
            closeConversation();
          } else {
            const temps = Array.from(S.msgs.values()).filter((m) => m.id.startsWith("tmp-"));
            // Keep older pages the user loaded; replace the newest page.
            thread.items.forEach(upsertMessage);
            temps.forEach(upsertMessage);
            if (!S.olderCursor) S.olderCursor = thread.next_cursor;
            if (conv.unread > 0 && threadVisible()) markRead(id);
          }
        }
      });
    } catch {
      return;
    }
    renderList();
    renderHeader();
    if (S.openId) renderThread("auto");
  }

  let source = null;

  function setLive(live) {
    els.root.dataset.live = live ? "true" : "false";
    $("#mc-conn").hidden = live || !S.everLive;
  }

  function connect(resume) {
    const url = `${API}/events${resume && S.lastEventId ? qs({ last_event_id: S.lastEventId }) : ""}`;
    source = new EventSource(url);
    const types = ["message.created", "message.status", "unread.changed", "conversation.updated", "message.deleted", "resync"];
    const track = (event) => {
      if (event.lastEventId) S.lastEventId = event.lastEventId;
    };
    source.addEventListener("ready", async (event) => {
      track(event);
      S.backoff = 1000;
      if (!S.everLive) {
        // The page was rendered a moment before the stream opened: catch up once.
        await reloadAll();
        S.everLive = true;
      }
      setLive(true);
    });
    types.forEach((type) =>
      source.addEventListener(type, (event) => {
        track(event);
        let data;
        try {
          data = JSON.parse(event.data);
        } catch {
          return;
        }
        onEvent(type, data);
      }),
    );
    source.addEventListener("error", () => {
      setLive(false);
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error): check the session, then retry with backoff.
        source.close();
        const wait = S.backoff;
        S.backoff = Math.min(S.backoff * 2, 30000);
        setTimeout(() => {
          api("GET", "/unread")
            .then(() => connect(true))
            .catch((err) => {
              if (err.status !== 401) connect(true);
            });
        }, wait);
      }
    });
  }

  // ---- new conversation dialog -------------------------------------------------------

  let optionIndex = -1;
  let searchToken = 0;

  function normalizeNumber(value) {
    let v = value.trim().replace(/[\s().\-\u00a0]/g, "");
    if (v.startsWith("00")) v = `+${v.slice(2)}`;
    return v;
  }

  function setNewError(text) {
    els.newError.textContent = text || "";
    els.newError.hidden = !text;
    if (text) {
      els.newTo.setAttribute("aria-invalid", "true");
      els.newTo.setAttribute("aria-describedby", "mc-new-error mc-new-hint");
    } else {
      els.newTo.removeAttribute("aria-invalid");
      els.newTo.setAttribute("aria-describedby", "mc-new-hint");
    }
  }

  function closeOptions() {
    els.newOptions.hidden = true;
    els.newOptions.replaceChildren();
    els.newTo.setAttribute("aria-expanded", "false");
    els.newTo.removeAttribute("aria-activedescendant");
    optionIndex = -1;
  }

  function highlight(i) {
    const options = Array.from(els.newOptions.querySelectorAll("[role=option]"));
    if (!options.length) return;
    optionIndex = (i + options.length) % options.length;
    options.forEach((o, j) => o.setAttribute("aria-selected", j === optionIndex ? "true" : "false"));
    els.newTo.setAttribute("aria-activedescendant", options[optionIndex].id);
    options[optionIndex].scrollIntoView({ block: "nearest" });
  }

  function pick(option) {
    els.newTo.value = option.dataset.e164;
    closeOptions();
    setNewError("");
    els.newTo.focus();
  }

  const searchContacts = debounce(async () => {
    const q = els.newTo.value.trim();
    const token = ++searchToken;
    if (q.length < 2) {
      closeOptions();
      return;
    }
    let page;
    try {
      page = await api("GET", `/contacts${qs({ q, limit: 8 })}`);
    } catch {
      return;
    }
    if (token !== searchToken) return;
    const options = [];
    page.items.forEach((c) =>
      c.numbers.forEach((n) => {
        options.push(
          el(
            "li",
            { role: "option", id: `mc-opt-${options.length}`, class: "mc-option", "data-e164": n.e164, "aria-selected": "false" },
            avatar(c.name, n.e164, "sm"),
            el("span", { class: "mc-option-name", text: c.name }),
            el("span", { class: "mc-option-num", text: `${pretty(n.e164)}${n.label ? ` · ${n.label}` : ""}` }),
          ),
        );
      }),
    );
    if (!options.length) {
      closeOptions();
      return;
    }
    els.newOptions.replaceChildren(...options.slice(0, 12));
    els.newOptions.hidden = false;
    els.newTo.setAttribute("aria-expanded", "true");
    optionIndex = -1;
  }, 200);

  function openNewDialog() {
    closePopovers();
    els.newForm.reset();
    setNewError("");
    closeOptions();
    const conv = openConv();
    if (conv && els.newFrom) els.newFrom.value = conv.number.e164;
    els.newDialog.showModal();
    els.newTo.focus();
  }

  async function startConversation() {
    const to = normalizeNumber(els.newTo.value);
    if (!to) {
      setNewError("Enter a phone number or pick a contact.");
      els.newTo.focus();
      return;
    }
    if (!E164.test(to)) {
      setNewError("Use E.164 format: + then the country code and number, for example +12025550123.");
      els.newTo.focus();
      return;
    }
    const submit = $("#mc-new-submit");
    submit.disabled = true;
    try {
      const body = { to };
      if (els.newFrom && els.newFrom.value) body.from = els.newFrom.value;
      const res = await api("POST", "/click-to-sms", body);
      const conv = remember(res.conversation);
      if (!S.order.includes(conv.id) && !S.q) S.order.push(conv.id);
      sortOrder();
      els.newDialog.close();
      await openConversation(conv.id);
    } catch (err) {
      setNewError(err.message);
      els.newTo.focus();
    } finally {
      submit.disabled = false;
    }
  }

  // ---- wiring ----------------------------------------------------------------------------

  function moveInList(link, key) {
    const links = Array.from(els.convs.querySelectorAll(".mc-conv"));
    const i = links.indexOf(link);
    let next = null;
    if (key === "ArrowDown") next = links[Math.min(i + 1, links.length - 1)];
    else if (key === "ArrowUp") next = links[Math.max(i - 1, 0)];
    else if (key === "Home") next = links[0];
    else if (key === "End") next = links[links.length - 1];
    if (!next) return false;
    links.forEach((l) => (l.tabIndex = -1));
    next.tabIndex = 0;
    next.focus();
    return true;
  }

  function isTyping(target) {
    return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function wire() {
    els.root.addEventListener("click", async (event) => {
      const target = event.target;
      if (!(target instanceof Element)) return;
      const link = target.closest(".mc-conv");
      if (link && !event.metaKey && !event.ctrlKey && !event.shiftKey && event.button === 0) {
        event.preventDefault();
        openConversation(link.dataset.id);
        return;
      }
      const action = target.closest("[data-action]");
      if (!action) return;
      const conv = openConv();
      const li = action.closest(".mc-msg");
      switch (action.dataset.action) {
        case "new":
          openNewDialog();
          break;
        case "message-menu":
          openMessageMenu(action);
          break;
        case "retry": {
          const m = li && S.msgs.get(li.dataset.id);
          if (m) {
            action.disabled = true;
            await retry(m);
          }
          break;
        }
        case "block":
          if (conv && (await confirmDialog({
            title: `Block ${pretty(conv.remote)}?`,
            text: `Messages from this number to ${pretty(conv.number.e164)} will be dropped and kept in quarantine for admins. You can unblock it at any time.`,
            ok: "Block",
          }))) {
            setBlocked(conv, true);
          }
          break;
        case "unblock":
          if (conv) setBlocked(conv, false);
          break;
        case "delete-conversation":
          if (conv && (await confirmDialog({
            title: "Delete this conversation?",
            text: "It disappears from your list only; others who share the number keep it. A new message brings it back.",
            ok: "Delete",
          }))) {
            hideConversation(conv);
          }
          break;
        default:
          break;
      }
    });

    els.convs.addEventListener("keydown", (event) => {
      const link = event.target.closest && event.target.closest(".mc-conv");
      if (link && ["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) {
        if (moveInList(link, event.key)) event.preventDefault();
      }
    });

    els.moreBtn.addEventListener("click", () => loadList({ append: true }));
    els.olderBtn.addEventListener("click", loadOlder);
    if ("IntersectionObserver" in window) {
      new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting) && S.olderCursor) loadOlder();
      }, { root: els.scroll }).observe(els.older);
    }

    const search = debounce(() => {
      S.q = els.q.value.trim();
      loadList();
    }, 250);
    els.q.addEventListener("input", search);
    els.q.closest("form").addEventListener("submit", (event) => {
      event.preventDefault();
      S.q = els.q.value.trim();
      loadList();
    });

    document.querySelectorAll(".mc-seg").forEach((btn) =>
      btn.addEventListener("click", () => {
        S.filter = btn.dataset.filter;
        document.querySelectorAll(".mc-seg").forEach((b) => b.setAttribute("aria-pressed", b === btn ? "true" : "false"));
        loadList();
      }),
    );

    els.markAll.addEventListener("click", async () => {
      els.markAll.disabled = true;
      try {
        const res = await api("POST", "/unread/mark-all-read");
        S.convs.forEach((c) => {
          c.unread = 0;
        });
        S.unreadTotal = res.total;
        renderList();
        toast("All conversations are marked as read.");
      } catch (err) {
        toast(err.message, "error");
        els.markAll.disabled = false;
      }
    });

    els.body.addEventListener("input", () => {
      clearSendError();
      updateComposer();
    });
    els.body.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.isComposing || event.altKey) return;
      const sendKey = event.ctrlKey || event.metaKey || (S.prefs.enter_sends ? !event.shiftKey : event.shiftKey);
      if (sendKey) {
        event.preventDefault();
        if (!els.send.disabled) send();
      }
    });
    els.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      send();
    });
    if (els.from) {
      els.from.addEventListener("change", () => {
        const conv = openConv();
        const note = conv && els.from.value !== conv.number.e164;
        els.from.closest(".mc-from").classList.toggle("is-other", Boolean(note));
        els.from.title = note ? "Sending from another number starts (or continues) that number's conversation." : "";
      });
    }

    els.emojiBtn.addEventListener("click", () => togglePopover(els.emojiBtn, els.emoji, true));
    els.settingsBtn.addEventListener("click", () => {
      updatePermissionNote();
      $("#mc-settings-note").textContent = "";
      togglePopover(els.settingsBtn, els.settings, true);
    });
    els.settings.addEventListener("change", (event) => {
      const input = event.target.closest("[data-pref]");
      if (input) savePreference(input);
    });
    $("#mc-permission-btn").addEventListener("click", async () => {
      if ("Notification" in window) {
        try {
          await Notification.requestPermission();
        } catch {
          /* older browsers */
        }
      }
      updatePermissionNote();
    });

    els.detailsBtn.addEventListener("click", () => {
      els.root.classList.toggle("details-toggled");
      syncDetailsButton();
    });
    $("#mc-details-close").addEventListener("click", () => {
      els.root.classList.toggle("details-toggled");
      syncDetailsButton();
      els.detailsBtn.focus();
    });
    els.mute.addEventListener("change", async () => {
      const conv = openConv();
      if (!conv) return;
      const muted = els.mute.checked;
      try {
        await api("PUT", `/conversations/${encodeURIComponent(conv.id)}/mute`, { muted });
        conv.muted = muted;
        renderList();
        renderHeader();
        toast(muted ? "Muted: no sound or notification for this conversation." : "Notifications are on for this conversation.");
      } catch (err) {
        els.mute.checked = !muted;
        toast(err.message, "error");
      }
    });

    $("#mc-back").addEventListener("click", (event) => {
      event.preventDefault();
      closeConversation();
    });

    els.newBtn.addEventListener("click", openNewDialog);
    els.newDialog.addEventListener("click", (event) => {
      if (event.target.closest("[data-close]")) els.newDialog.close();
      const option = event.target.closest("[role=option]");
      if (option) pick(option);
      if (event.target === els.newDialog) els.newDialog.close(); // the backdrop
    });
    els.newForm.addEventListener("submit", (event) => {
      event.preventDefault();
      startConversation();
    });
    els.newTo.addEventListener("input", () => {
      setNewError("");
      searchContacts();
    });
    els.newTo.addEventListener("keydown", (event) => {
      const open = !els.newOptions.hidden;
      if (event.key === "ArrowDown" && open) {
        event.preventDefault();
        highlight(optionIndex + 1);
      } else if (event.key === "ArrowUp" && open) {
        event.preventDefault();
        highlight(optionIndex - 1);
      } else if (event.key === "Enter" && open && optionIndex >= 0) {
        event.preventDefault();
        pick(els.newOptions.querySelectorAll("[role=option]")[optionIndex]);
      } else if (event.key === "Escape" && open) {
        event.preventDefault();
        event.stopPropagation();
        closeOptions();
      }
    });

    document.addEventListener("keydown", (event) => {
      if (event.key === "/" && !isTyping(event.target) && !event.ctrlKey && !event.metaKey && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        els.q.focus();
        els.q.select();
      } else if (event.key === "Escape") {
        if (menu) {
          event.preventDefault();
          closeMenu(true);
        } else if (openPopover) {
          event.preventDefault();
          closePopovers(true);
        } else if (els.root.classList.contains("details-toggled") && window.matchMedia("(max-width: 1279px)").matches) {
          els.root.classList.remove("details-toggled");
          syncDetailsButton();
          els.detailsBtn.focus();
        }
      }
    });
    document.addEventListener("click", (event) => {
      const target = event.target;
      if (!(target instanceof Element)) return;
      if (openPopover && !openPopover.panel.contains(target) && !openPopover.button.contains(target)) closePopovers();
      if (menu && !menu.node.contains(target) && !menu.button.contains(target)) closeMenu();
    });

    window.addEventListener("popstate", () => {
      const found = /^\/messages\/([^/]+)$/.exec(window.location.pathname);
      if (found) openConversation(decodeURIComponent(found[1]), { push: false, focus: false });
      else closeConversation({ push: false });
    });
    document.addEventListener("visibilitychange", () => {
      const conv = openConv();
      if (threadVisible() && conv && conv.unread > 0) markRead(conv.id);
    });
    window.addEventListener("resize", debounce(syncDetailsButton, 100));
  }

  function syncDetailsButton() {
    const shown = els.details && getComputedStyle(els.details).display !== "none";
    els.detailsBtn.setAttribute("aria-expanded", shown ? "true" : "false");
  }

  async function setBlocked(conv, blocked) {
    try {
      await api("POST", `/conversations/${encodeURIComponent(conv.id)}/${blocked ? "block" : "unblock"}`);
      conv.blocked = blocked;
      renderList();
      renderHeader();
      toast(blocked ? `${pretty(conv.remote)} is blocked.` : `${pretty(conv.remote)} is unblocked.`);
    } catch (err) {
      toast(err.message, "error");
    }
  }

  async function hideConversation(conv) {
    try {
      await api("DELETE", `/conversations/${encodeURIComponent(conv.id)}`);
      S.order = S.order.filter((id) => id !== conv.id);
      S.convs.delete(conv.id);
      closeConversation();
      toast("Conversation deleted for you.");
    } catch (err) {
      toast(err.message, "error");
    }
  }

  // ---- start -----------------------------------------------------------------------------

  els.root.prepend(el("p", { class: "mc-conn", id: "mc-conn", role: "status", hidden: true }, "Reconnecting…"));
  boot.conversations.items.forEach((c) => {
    remember(c);
    S.order.push(c.id);
  });
  if (boot.selected) remember(boot.selected);
  setMessages(boot.thread.items);
  buildEmoji();
  wire();
  renderList();
  renderHeader();
  if (S.openId) {
    renderThread("bottom");
    window.history.replaceState({ id: S.openId }, "", window.location.pathname);
    const conv = openConv();
    if (conv && conv.unread > 0 && threadVisible()) markRead(conv.id);
  }
  updateComposer();
  updateKeysHint();
  syncDetailsButton();
  setLive(false);
  connect(false);
}
