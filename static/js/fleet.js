// Fleet overview: each poll's cluster brief updates its row in place.
const rate = (v) => (v === null || v === undefined ? "–" : v.toFixed(1));

document.addEventListener("live:fleet", (e) => {
  const c = e.detail;
  const row = document.querySelector(`#fleet tr[data-cluster="${CSS.escape(c.name)}"]`);
  if (!row) return;
  const set = (field, text) => { const el = row.querySelector(`[data-field="${field}"]`); if (el) el.textContent = text; };
  const status = row.querySelector('[data-field="status"]');
  status.textContent = c.status;
  status.className = `pill status-${c.status}`;
  set("nodes", `${c.nodes_up}/${c.nodes_total}`);
  set("msgs_in_per_s", rate(c.msgs_in_per_s));
  set("msgs_out_per_s", rate(c.msgs_out_per_s));
  set("connections", c.connections);
  set("findings", c.findings);
  set("polled_at", new Date(c.polled_at).toLocaleTimeString());
});
