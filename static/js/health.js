// Health page: after each poll (live:cluster) and each fired or resolved alert (live:alert),
// re-read the checks and this cluster's open alerts, without a reload.
const checks = document.getElementById("checks");
const order = { critical: 0, warning: 1, ok: 2 };

function text(tag, value, className) {
  const el = document.createElement(tag);
  el.textContent = value;
  if (className) el.className = className;
  return el;
}

async function refreshChecks() {
  const response = await fetch(checks.dataset.checksUrl, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const body = await response.json();
  checks.replaceChildren();
  for (const r of body.checks.sort((a, b) => order[a.state] - order[b.state])) {
    const line = text("span", `${r.state.toUpperCase().padEnd(9)}${r.check} ${r.account ? r.account + "/" : ""}${r.target}: ${r.message}`,
      `check-line check-${r.state}`);
    line.dataset.key = r.key;
    checks.append(line, "\n");
  }
  const worst = body.summary.critical ? "CRITICAL" : body.summary.warning ? "WARNING" : "OK";
  const overall = document.getElementById("health-overall");
  overall.textContent = worst;
  overall.className = `pill check-${worst.toLowerCase()}`;
}

function alertRow(a) {
  const row = document.createElement("tr");
  row.className = `sev-${a.severity}`;
  row.dataset.key = a.key;
  const state = document.createElement("td");
  state.append(text("span", a.state, `pill alert-${a.state}`), " ", text("strong", a.severity.toUpperCase()));
  row.append(state, text("td", a.account || "–"));
  const check = document.createElement("td");
  check.append(text("code", a.check), ` ${a.target}`);
  row.append(check, text("td", a.message), text("td", `${a.value ?? "–"} peak ${a.peak ?? "–"}`),
    text("td", new Date(a.started_at).toLocaleString(), "muted"));
  return row;
}

async function refreshAlerts() {
  const response = await fetch(checks.dataset.alertsUrl, { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const body = await response.json();
  for (const state of ["firing", "pending"]) {
    const tbody = document.querySelector(`#alerts-${state} tbody`);
    if (!tbody) continue;
    const rows = body[state].filter((a) => a.cluster === checks.dataset.cluster);
    tbody.replaceChildren(...(rows.length ? rows.map(alertRow) : [text("tr", "")]));
  }
}

let timer = null;
function soon() {
  clearTimeout(timer);
  // The checks run right after the poll's update is pushed: give them a moment.
  timer = setTimeout(() => { refreshChecks(); refreshAlerts(); }, 800);
}

if (checks) {
  document.addEventListener("live:cluster", soon);
  document.addEventListener("live:alert", soon);
}
