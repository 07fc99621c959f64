// Live updates: one WebSocket per page, reconnecting with backoff.
// Pages listen with: document.addEventListener("live:<event>", e => e.detail)
const badge = document.getElementById("live-status");

function setState(state, text) {
  if (!badge) return;
  badge.dataset.state = state;
  badge.textContent = text;
}

function connect(delay) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const path = document.body.dataset.liveUrl || "/ws/updates/";
  const socket = new WebSocket(`${scheme}://${location.host}${path}`);
  socket.addEventListener("open", () => { delay = 1000; setState("live", "live"); });
  socket.addEventListener("message", (msg) => {
    const { event, data } = JSON.parse(msg.data);
    document.dispatchEvent(new CustomEvent(`live:${event}`, { detail: data }));
  });
  socket.addEventListener("close", () => {
    setState("offline", "offline");
    setTimeout(() => connect(Math.min(delay * 2, 30000)), delay);
  });
}

document.addEventListener("live:heartbeat", (e) => {
  const at = document.getElementById("heartbeat-at");
  const state = document.getElementById("heartbeat-state");
  if (at) { at.dateTime = e.detail.at; at.textContent = new Date(e.detail.at).toLocaleString(); }
  if (state) { state.textContent = "running"; state.className = "ok"; }
});

// Alerts fired or resolved: re-read the count this user may see (pushes carry no names).
const alertsBadge = document.getElementById("alerts-badge");
document.addEventListener("live:alert", async () => {
  if (!alertsBadge) return;
  const response = await fetch(alertsBadge.dataset.api, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const { firing_count: count } = await response.json();
  alertsBadge.dataset.count = count;
  alertsBadge.textContent = `${count} firing`;
});

connect(1000);
