// The phone simulator page (K4): a person plays the external mobile user.
//
// What the phone sent goes to POST /api/v1/simulator/inbound and is remembered in this
// browser (localStorage). What the network delivered to the phone comes from
// GET /api/v1/simulator/outbox, oldest first: this dev tool refreshes it every 1.5 s while
// the tab is visible, asking only for entries after the last one it has.

const root = document.getElementById("sim");

if (root) simulator(root);

function simulator(sim) {
  const phone = sim.dataset.phone;
  const number = sim.dataset.number;
  const disabled = sim.dataset.disabled === "true";
  const key = `smshub-sim:${phone}:${number}`;
  const list = document.getElementById("sim-messages");
  const scroll = document.getElementById("sim-scroll");
  const empty = document.getElementById("sim-empty");
  const form = document.getElementById("sim-compose");
  const body = document.getElementById("sim-body");
  const error = document.getElementById("sim-error");
  const REFRESH_MS = 1500;

  const received = new Map(); // outbox id -> entry
  let lastId = null;
  let timer = 0;
  let loading = false;

  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });

  function csrf() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || "";
    } catch {
      return "";
    }
  }

  function load() {
    try {
      const data = JSON.parse(localStorage.getItem(key) || "{}");
      return { sent: Array.isArray(data.sent) ? data.sent : [], clearedAt: data.clearedAt || null };
    } catch {
      return { sent: [], clearedAt: null };
    }
  }

  let saved = load();

  function save() {
    try {
      localStorage.setItem(key, JSON.stringify({ sent: saved.sent.slice(-200), clearedAt: saved.clearedAt }));
    } catch {
      /* private mode: the chat lasts as long as the page */
    }
  }

  function bubble(text, at, mine, note, warn) {
    const li = document.createElement("li");
    li.className = `sim-msg ${mine ? "is-mine" : "is-theirs"}`;
    const b = document.createElement("div");
    b.className = "mc-bubble";
    const p = document.createElement("p");
    p.className = "mc-text";
    p.textContent = text;
    const meta = document.createElement("span");
    meta.className = "mc-meta";
    const time = document.createElement("time");
    time.dateTime = at;
    time.textContent = timeFmt.format(new Date(at));
    meta.append(time);
    b.append(p, meta);
    li.append(b);
    if (note) {
      const n = document.createElement("p");
      n.className = `sim-note${warn ? " is-warn" : ""}`;
      n.textContent = note;
      li.append(n);
    }
    return li;
  }

  function render() {
    const atBottom = scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < 60;
    const cleared = saved.clearedAt ? Date.parse(saved.clearedAt) : 0;
    const items = [];
    received.forEach((e) => {
      if (e.from === number && Date.parse(e.at) >= cleared) items.push({ at: e.at, text: e.body, mine: false, id: e.id });
    });
    saved.sent.forEach((s, i) => items.push({ at: s.at, text: s.body, mine: true, note: s.note, warn: s.warn, id: `s${i}` }));
    items.sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : 1));
    list.replaceChildren(...items.map((i) => bubble(i.text, i.at, i.mine, i.note, i.warn)));
    empty.hidden = items.length > 0;
    if (atBottom) scroll.scrollTop = scroll.scrollHeight;
  }

  async function fetchOutbox() {
    if (loading || disabled) return;
    loading = true;
    try {
      for (let pages = 0; pages < 20; pages++) {
        const params = new URLSearchParams({ to: phone, limit: "200" });
        if (lastId) params.set("cursor", lastId);
        const res = await fetch(`/api/v1/simulator/outbox?${params}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!res.ok) return;
        const page = await res.json();
        page.items.forEach((e) => {
          received.set(e.id, e);
          lastId = e.id;
        });
        if (!page.next_cursor) break;
      }
      render();
    } catch {
      /* the next refresh tries again */
    } finally {
      loading = false;
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (document.visibilityState === "visible") {
      timer = setTimeout(async () => {
        await fetchOutbox();
        schedule();
      }, REFRESH_MS);
    }
  }

  function noteFor(result) {
    if (result.quarantine_id) return ["Not delivered: the company blocked this number or nobody has this line. It is in quarantine.", true];
    if (result.action) return [`Keyword: ${result.action.replace(/_/g, " ")}`, false];
    return ["Delivered", false];
  }

  async function send() {
    const text = body.value;
    if (!text.trim() || disabled) return;
    error.hidden = true;
    const button = document.getElementById("sim-send");
    button.disabled = true;
    try {
      const res = await fetch("/api/v1/simulator/inbound", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
        credentials: "same-origin",
        body: JSON.stringify({ from: phone, to: number, body: text }),
      });
      const data = await res.json().catch(() => null);
      if (!res.ok) {
        error.textContent = (data && data.error && data.error.message) || `The server answered ${res.status}.`;
        error.hidden = false;
        return;
      }
      const [note, warn] = noteFor(data);
      saved.sent.push({ body: text, at: new Date().toISOString(), note, warn });
      save();
      body.value = "";
      scroll.scrollTop = scroll.scrollHeight;
      render();
      scroll.scrollTop = scroll.scrollHeight;
    } catch {
      error.textContent = "Could not reach the server. Try again.";
      error.hidden = false;
    } finally {
      button.disabled = false;
      body.focus();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  body.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  document.getElementById("sim-clear").addEventListener("click", () => {
    saved = { sent: [], clearedAt: new Date().toISOString() };
    save();
    render();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") fetchOutbox();
    schedule();
  });

  render();
  fetchOutbox().then(() => {
    scroll.scrollTop = scroll.scrollHeight;
    schedule();
  });
}
