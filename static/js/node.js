// Node page: charts of a node's samples over the chosen window, refreshed after each poll.
const box = document.getElementById("charts");
const CHARTS = [
  { title: "Messages per second", series: [["msgs_in_per_s", "in", "#1b6ac9"], ["msgs_out_per_s", "out", "#1f8a4c"]] },
  { title: "Bytes per second", series: [["bytes_in_per_s", "in", "#1b6ac9"], ["bytes_out_per_s", "out", "#1f8a4c"]] },
  { title: "Connections and subscriptions", series: [["connections", "connections", "#7b4bb7"], ["subscriptions", "subscriptions", "#b26a00"]] },
  { title: "Slow consumers", series: [["slow_consumers", "slow consumers", "#c62828"]] },
  { title: "CPU %", series: [["cpu", "cpu", "#5b6bbf"]] },
  { title: "Memory (bytes)", series: [["mem", "memory", "#3b8fa8"]] },
];
const plots = [];
const si = (v) => {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
};

async function load() {
  const response = await fetch(box.dataset.seriesUrl, { credentials: "same-origin" });
  if (!response.ok) return;
  const { series } = await response.json();
  CHARTS.forEach((chart, i) => {
    const data = [series.at, ...chart.series.map(([key]) => series[key])];
    if (plots[i]) { plots[i].setData(data); return; }
    const holder = document.createElement("figure");
    holder.className = "chart";
    box.append(holder);
    plots[i] = new uPlot({
      title: chart.title, width: Math.max(320, Math.floor(box.clientWidth / 2) - 24), height: 180,
      series: [{}, ...chart.series.map(([, label, stroke]) => ({ label, stroke, width: 1.5, spanGaps: false }))],
      axes: [{}, { size: 60, values: (u, ticks) => ticks.map(si) }],
    }, data, holder);
  });
  box.dataset.points = series.at.length;
}

document.addEventListener("live:cluster", () => load());
load();
