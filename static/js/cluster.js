// Cluster page: the route mesh as a Cytoscape graph, redrawn in place from each poll's update.
const container = document.getElementById("mesh");
const panel = document.getElementById("node-panel");
let cy = null;
let lastNodes = [];

const fmtRate = (v) => (v === null || v === undefined ? "–" : `${v.toFixed(1)}/s`);
const fmtNumber = (v) => (v === null || v === undefined ? "–" : v.toFixed(1));
const fmtRtt = (us) => (us === null || us === undefined ? "" : us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${Math.round(us)} µs`);

function elementsFrom(topology) {
  const nodes = topology.nodes.map((n) => ({
    group: "nodes",
    data: { id: n.id, label: n.name, status: n.status, kind: n.kind, monitored: n.monitored ? "yes" : "no",
            leader: n.is_meta_leader ? "yes" : "no" },
  }));
  const edges = topology.edges.map((e) => ({
    group: "edges",
    data: {
      id: `${e.kind}:${e.source}->${e.target}`, source: e.source, target: e.target, kind: e.kind, status: e.status,
      label: [e.kind === "route" ? `${e.connections}${e.expected_connections ? "/" + e.expected_connections : ""} conns` : e.account || e.kind,
              e.msgs_per_s !== null && e.msgs_per_s !== undefined ? fmtRate(e.msgs_per_s) : "", fmtRtt(e.rtt_us)].filter(Boolean).join(" · "),
    },
  }));
  return [...nodes, ...edges];
}

const style = [
  { selector: "node", style: { label: "data(label)", "text-valign": "bottom", "text-margin-y": 6, "font-size": 12,
      "background-color": "#1f8a4c", width: 34, height: 34, "border-width": 2, "border-color": "#fff" } },
  { selector: "node[status = 'down']", style: { "background-color": "#c62828" } },
  { selector: "node[monitored = 'no']", style: { "background-color": "#9aa4ae", "border-style": "dashed", "border-color": "#66707c" } },
  { selector: "node[kind = 'gateway']", style: { shape: "round-rectangle", "background-color": "#5b6bbf" } },
  { selector: "node[kind = 'leaf']", style: { shape: "diamond", "background-color": "#3b8fa8", width: 26, height: 26 } },
  { selector: "node[leader = 'yes']", style: { "border-color": "#f2b705", "border-width": 4 } },
  { selector: "edge", style: { width: 2, "line-color": "#8fa3b8", label: "data(label)", "font-size": 10, "text-rotation": "autorotate",
      "text-background-color": "#fff", "text-background-opacity": 0.85, "text-background-padding": 2, "curve-style": "bezier" } },
  { selector: "edge[status = 'degraded']", style: { "line-color": "#b26a00", "line-style": "dashed" } },
  { selector: "edge[status = 'one-sided']", style: { "line-color": "#c62828", "line-style": "dotted" } },
  { selector: "edge[kind = 'gateway']", style: { "line-color": "#5b6bbf", width: 3 } },
  { selector: "edge[kind = 'leafnode']", style: { "line-color": "#3b8fa8" } },
];

function draw(topology) {
  const elements = elementsFrom(topology);
  if (!cy) {
    cy = cytoscape({ container, elements, style, layout: { name: "circle", padding: 40 }, wheelSensitivity: 0.3 });
    cy.on("tap", "node", (evt) => openPanel(evt.target.id()));
    container.cy = cy;  // lets tests and the console inspect the drawn graph
    container.dataset.ready = "true";
  } else {
    const wanted = new Set(elements.map((el) => el.data.id));
    cy.elements().forEach((el) => { if (!wanted.has(el.id())) el.remove(); });
    let added = false;
    for (const el of elements) {
      const existing = cy.getElementById(el.data.id);
      if (existing.nonempty()) existing.data(el.data); else { cy.add(el); added = true; }
    }
    if (added) cy.layout({ name: "circle", padding: 40 }).run();
  }
  container.dataset.nodesUp = topology.nodes.filter((n) => n.kind === "server" && n.status === "up").length;
  container.dataset.nodesDown = topology.nodes.filter((n) => n.status === "down").map((n) => n.name).join(",");
}

function openPanel(id) {
  const info = lastNodes.find((n) => n.name === id) || { name: id };
  panel.hidden = false;
  document.getElementById("panel-name").textContent = info.name;
  const figures = document.getElementById("panel-figures");
  figures.replaceChildren();
  const rows = [["Status", info.status || "seen, not monitored"], ["Version", info.version], ["Connections", info.connections],
    ["Msgs/s in", fmtRate(info.msgs_in_per_s)], ["Msgs/s out", fmtRate(info.msgs_out_per_s)], ["CPU %", info.cpu], ["Error", info.error]];
  for (const [k, v] of rows) {
    if (v === undefined || v === null || v === "") continue;
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    figures.append(dt, dd);
  }
  const link = document.getElementById("panel-link");
  link.hidden = !info.monitor_url;
  link.href = container.dataset.nodeUrl.replace("NODE", encodeURIComponent(info.name));
}

function updateTables(update) {
  lastNodes = update.nodes;
  const status = document.getElementById("cluster-status");
  status.textContent = update.status; status.className = `pill status-${update.status}`;
  document.getElementById("cluster-nodes").textContent = `${update.nodes_up}/${update.nodes_total}`;
  document.getElementById("cluster-polled").textContent = new Date(update.polled_at).toLocaleTimeString();
  for (const n of update.nodes) {
    const row = document.querySelector(`#nodes tr[data-url="${CSS.escape(n.monitor_url)}"]`);
    if (!row) continue;
    const pill = row.querySelector('[data-field="status"]');
    pill.textContent = n.status; pill.className = `pill status-${n.status}`;
    row.querySelector('[data-field="error"]').textContent = n.error || "";
    row.querySelector('[data-field="connections"]').textContent = n.connections ?? "–";
    row.querySelector('[data-field="msgs_in_per_s"]').textContent = fmtNumber(n.msgs_in_per_s);
    row.querySelector('[data-field="msgs_out_per_s"]').textContent = fmtNumber(n.msgs_out_per_s);
    row.querySelector('[data-field="cpu"]').textContent = n.cpu ?? "–";
  }
  const findings = document.getElementById("findings");
  findings.replaceChildren();
  for (const f of update.topology.findings) {
    const li = document.createElement("li"); li.className = `sev-${f.severity}`;
    const strong = document.createElement("strong"); strong.textContent = f.severity;
    li.append(strong, ` ${f.message}`); findings.append(li);
  }
  if (!update.topology.findings.length) { const li = document.createElement("li"); li.className = "muted"; li.textContent = "No findings."; findings.append(li); }
  const events = document.getElementById("events");
  for (const e of update.events) {
    const li = document.createElement("li"); li.className = `sev-${e.severity}`;
    const t = document.createElement("time"); t.textContent = new Date(update.polled_at).toLocaleString();
    li.append(t, ` ${e.message}`);
    events.prepend(li);
    events.querySelector("li.muted")?.remove();
  }
}

document.addEventListener("live:cluster", (e) => { updateTables(e.detail); draw(e.detail.topology); });

(async () => {
  const [topology, cluster] = await Promise.all([
    fetch(container.dataset.topologyUrl, { credentials: "same-origin" }).then((r) => r.json()),
    fetch(container.dataset.topologyUrl.replace(/topology$/, ""), { credentials: "same-origin" }).then((r) => r.json()),
  ]);
  lastNodes = cluster.nodes;
  draw(topology.nodes ? topology : { nodes: [], edges: [], findings: [] });
})();
