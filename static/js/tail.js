// Live tail: frames arrive at most ten times a second; the page keeps a bounded number of rows,
// so the tab stays responsive at any message rate, and says how many messages it did not show.
const MAX_ROWS = 500;
const form = document.getElementById("tail-form");
const list = document.getElementById("tail-messages");
const $ = (id) => document.getElementById(id);
let socket = null, paused = false, shown = [], receivedTotal = 0;
const subjectStats = new Map();
let rateWindow = [];

function setStatus(text) { $("tail-status").textContent = text; }

function payloadPreview(m) {
  if (m.data === null) return `[binary, ${m.size} bytes] ${atob(m.data_base64).slice(0, 64)}`;
  try { return JSON.stringify(JSON.parse(m.data), null, 2); } catch { return m.data; }
}

function matches(m, filter) {
  if (!filter) return true;
  const needle = filter.toLowerCase();
  return (m.data || "").toLowerCase().includes(needle) || m.subject.toLowerCase().includes(needle)
    || Object.values(m.headers || {}).some((v) => String(v).toLowerCase().includes(needle));
}

function row(m) {
  const li = document.createElement("li");
  li.className = "tail-message";
  const head = document.createElement("div");
  head.className = "tail-head";
  const time = new Date(m.received_at * 1000).toISOString().slice(11, 23);
  head.textContent = `${m.seq ? "#" + m.seq + "  " : ""}${time}  ${m.subject}  ${m.size} B${m.reply ? "  reply " + m.reply : ""}${m.truncated ? "  (preview)" : ""}`;
  li.append(head);
  const headers = Object.entries(m.headers || {});
  if (headers.length) {
    const h = document.createElement("div");
    h.className = "tail-headers";
    h.textContent = headers.map(([k, v]) => `${k}: ${v}`).join("   ");
    li.append(h);
  }
  const pre = document.createElement("pre");
  pre.textContent = payloadPreview(m);
  li.append(pre);
  return li;
}

function render(messages) {
  const filter = $("tail-filter").value;
  const fragment = document.createDocumentFragment();
  // Only the newest MAX_ROWS can be on screen: older ones in a big frame are counted, not drawn.
  for (const m of messages.slice(-MAX_ROWS)) {
    shown.push(m);
    if (matches(m, filter)) fragment.prepend(row(m));
  }
  list.prepend(fragment);
  while (list.children.length > MAX_ROWS) list.lastElementChild.remove();
  if (shown.length > MAX_ROWS) shown = shown.slice(-MAX_ROWS);
  $("tail-shown").textContent = list.children.length;
}

function count(messages) {
  const now = performance.now();
  rateWindow.push([now, messages.length]);
  rateWindow = rateWindow.filter(([t]) => now - t < 3000);
  const span = Math.max((now - rateWindow[0][0]) / 1000, 1);
  $("tail-rate").textContent = (rateWindow.reduce((a, [, n]) => a + n, 0) / span).toFixed(1);
  for (const m of messages) {
    const s = subjectStats.get(m.subject) || { total: 0, recent: [] };
    s.total += 1; s.recent.push(now);
    subjectStats.set(m.subject, s);
  }
  const body = $("tail-subjects").querySelector("tbody");
  body.replaceChildren();
  [...subjectStats.entries()].sort((a, b) => b[1].total - a[1].total).slice(0, 20).forEach(([subject, s]) => {
    s.recent = s.recent.filter((t) => now - t < 3000);
    const tr = document.createElement("tr");
    for (const text of [subject, (s.recent.length / 3).toFixed(1), s.total]) {
      const td = document.createElement("td"); td.textContent = text; tr.append(td);
    }
    body.append(tr);
  });
}

function replayQuery() {
  const params = new URLSearchParams();
  for (const [id, name] of [["tail-replay-stream", "replay_stream"], ["tail-replay-seq", "replay_seq"], ["tail-replay-time", "replay_time"]]) {
    const value = $(id).value.trim();
    if (value) params.set(name, value);
  }
  return params.has("replay_stream") ? `&${params}` : "";
}

function start(account, subject) {
  if (socket) socket.close();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const cluster = encodeURIComponent(form.dataset.cluster);
  socket = new WebSocket(`${scheme}://${location.host}/ws/clusters/${cluster}/accounts/${encodeURIComponent(account)}/tail/?subject=${encodeURIComponent(subject)}${replayQuery()}`);
  setStatus("connecting");
  $("tail-pause").disabled = false;
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    if (frame.error) { $("tail-notice").textContent = frame.error; return; }
    if (frame.status === "subscribed") { setStatus("live"); $("tail-server").textContent = frame.server; return; }
    for (const notice of frame.notices || []) {
      if (notice.replay) {
        $("tail-notice").textContent = notice.replay === "done"
          ? `Replayed ${notice.messages} stored message(s); now following live.` : `Replay failed: ${notice.error}`;
        continue;
      }
      $("tail-notice").textContent = notice.connection === "reconnected"
        ? `Connection moved to ${notice.server}; the tail goes on.` : `Connection to ${notice.server} lost; reconnecting…`;
      if (notice.server && notice.connection === "reconnected") $("tail-server").textContent = notice.server;
    }
    receivedTotal = frame.received;
    $("tail-received").textContent = frame.received;
    $("tail-dropped").textContent = frame.dropped;
    if (frame.messages && frame.messages.length) { render(frame.messages); count(frame.messages); }
  });
  socket.addEventListener("close", (event) => {
    setStatus(event.code >= 4400 ? `refused (${event.code})` : "closed");
    $("tail-pause").disabled = true;
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const account = $("tail-account").value, subject = $("tail-subject").value.trim();
  history.replaceState(null, "", `?account=${encodeURIComponent(account)}&subject=${encodeURIComponent(subject)}`);
  start(account, subject);
});
$("tail-pause").addEventListener("click", () => {
  paused = !paused;
  socket?.send(JSON.stringify({ pause: paused }));
  $("tail-pause").textContent = paused ? "Resume" : "Pause";
  setStatus(paused ? "paused (buffering, bounded)" : "live");
});
$("tail-clear").addEventListener("click", () => { list.replaceChildren(); shown = []; subjectStats.clear(); $("tail-shown").textContent = 0; });
$("tail-filter").addEventListener("input", () => { const all = shown; list.replaceChildren(); shown = []; render(all); });
$("tail-export").addEventListener("click", () => {
  const filter = $("tail-filter").value;
  const lines = shown.filter((m) => matches(m, filter)).map((m) => JSON.stringify(m)).join("\n");
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([lines + "\n"], { type: "application/x-ndjson" }));
  link.download = "natsdash-tail.jsonl";
  link.click();
});
if ($("tail-subject").value) start($("tail-account").value, $("tail-subject").value);
