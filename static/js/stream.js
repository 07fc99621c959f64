// Stream page: messages over time and each consumer's pending / ack pending / redelivered.
const series = JSON.parse(document.getElementById("stream-series").textContent);
const box = document.getElementById("stream-charts");
const width = () => Math.max(320, Math.floor(box.clientWidth / 2) - 24);

function chart(title, at, lines) {
  const holder = document.createElement("figure");
  holder.className = "chart";
  box.append(holder);
  return new uPlot({ title, width: width(), height: 180,
    series: [{}, ...lines.map(([label, , stroke]) => ({ label, stroke, width: 1.5 }))], axes: [{}, { size: 60 }] },
    [at, ...lines.map(([, values]) => values)], holder);
}

chart("Messages", series.messages.at, [["messages", series.messages.messages, "#1b6ac9"]]);
for (const [name, c] of Object.entries(series.consumers)) {
  chart(`Consumer ${name}`, c.at, [["pending", c.num_pending, "#c62828"], ["ack pending", c.num_ack_pending, "#b26a00"],
    ["redelivered", c.num_redelivered, "#7b4bb7"]]);
}
box.dataset.charts = box.children.length;
