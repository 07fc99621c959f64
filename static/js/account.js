// Account page: sort the connections by a column, filter them on text, and keep the totals
// to the rows shown.
const table = document.getElementById("connections");
const filter = document.getElementById("connections-filter");
const TEXT_FIELDS = ["name", "ip", "lang", "server"];
const TOTALS = ["msgs_in", "msgs_out", "bytes_in", "bytes_out", "pending_bytes", "subscriptions"];

const formatBytes = (n) => {
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = n, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
};

function rows() {
  return [...table.tBodies[0].rows].filter((row) => !row.classList.contains("empty"));
}

function updateTotals() {
  const shown = rows().filter((row) => !row.hidden);
  const set = (name, text) => { const cell = table.querySelector(`[data-total="${name}"]`); if (cell) cell.textContent = text; };
  set("connections", shown.length);
  for (const name of TOTALS) {
    const sum = shown.reduce((total, row) => total + (Number(row.dataset[name]) || 0), 0);
    const cell = table.querySelector(`[data-total="${name}"]`);
    if (cell) cell.textContent = cell.hasAttribute("data-bytes") ? formatBytes(sum) : String(sum);
  }
}

function applyFilter() {
  const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  for (const row of rows()) {
    const text = TEXT_FIELDS.map((name) => row.dataset[name] || "").join(" ").toLowerCase();
    row.hidden = !words.every((word) => text.includes(word));
  }
  updateTotals();
}

function sortBy(header) {
  const key = header.dataset.sort;
  const numeric = header.dataset.type === "number";
  const descending = header.getAttribute("aria-sort") === "ascending";
  for (const th of table.tHead.querySelectorAll("th")) th.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", descending ? "descending" : "ascending");
  const value = (row) => (numeric ? (row.dataset[key] === "" ? -1 : Number(row.dataset[key])) : (row.dataset[key] || "").toLowerCase());
  const sorted = rows().sort((a, b) => {
    const x = value(a), y = value(b);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
  table.tBodies[0].append(...sorted);
}

if (table) {
  for (const header of table.tHead.querySelectorAll("th[data-sort]")) {
    header.tabIndex = 0;
    header.classList.add("sortable-header");
    header.addEventListener("click", () => sortBy(header));
    header.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(header); } });
  }
  filter?.addEventListener("input", applyFilter);
}
