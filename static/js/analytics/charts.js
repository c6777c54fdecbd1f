/* Time series charts (uPlot, vendored): a point for every bucket of the range, the time axis in
 * the viewer's zone and locale, values read the way the summary shows them. */

import uPlot from "../../vendor/uplot-1.6.32/uPlot.esm.js";
import { dateTime } from "../lib/format.js";
import { show, tick } from "./values.js";

const COLOURS = ["#2563eb", "#16a34a", "#d97706", "#dc2626"];
const HEIGHT = 220;

const charts = new Map(); // box element → {plot, observer}

function emptyNote(box, text) {
  let note = box.querySelector(".an-empty");
  if (!note) {
    note = document.createElement("p");
    note.className = "an-empty muted";
    box.append(note);
  }
  note.textContent = text;
  note.hidden = !text;
}

/**
 * Draw `series` (answers of /series: the same range and buckets) into `box`; replaces what was
 * there. Each answer is one line; the unit and currency of the first one set the axis.
 */
export function drawChart(box, answers) {
  const old = charts.get(box);
  if (old) {
    old.observer.disconnect();
    old.plot.destroy();
    charts.delete(box);
  }
  const first = answers[0];
  const unit = first.unit;
  const currency = first.currency;
  const xs = first.points.map((p) => Date.parse(p.t) / 1000);
  const lines = answers.map((a) => a.points.map((p) => p.value));
  const hasData = lines.some((ys) => ys.some((v) => v !== null && v !== 0));
  box.dataset.points = String(xs.length);
  box.dataset.total = String(lines[0].reduce((sum, v) => sum + (v || 0), 0));
  emptyNote(box, hasData ? "" : "Nothing to chart in this range: no rides or driver time.");
  const opts = {
    width: Math.max(240, box.clientWidth),
    height: HEIGHT,
    legend: { show: answers.length > 1 },
    cursor: { drag: { x: false, y: false } },
    // From 0 (or below, for a signed ETA bias); an empty chart still gets readable ticks.
    scales: { x: { time: true }, y: { range: (u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : unit === "s" ? 60 : 1] } },
    axes: [
      { stroke: "#475569", grid: { stroke: "#e2e8f0" } },
      { stroke: "#475569", grid: { stroke: "#e2e8f0" }, size: 56, values: (u, vals) => vals.map((v) => tick(v, unit, currency)) },
    ],
    series: [
      { value: (u, v) => (v === null ? "—" : dateTime(v * 1000)) },
      ...answers.map((a, i) => ({
        label: a.label,
        stroke: COLOURS[i % COLOURS.length],
        width: 2,
        fill: answers.length === 1 ? "rgba(37, 99, 235, 0.08)" : undefined,
        points: { show: xs.length <= 48 },
        spanGaps: false,
        value: (u, v) => show(v, a.unit, a.currency),
      })),
    ],
  };
  const plot = new uPlot(opts, [xs, ...lines], box);
  // Follow the box's width (a rotated phone, a resized window).
  const observer = new ResizeObserver(() => {
    const width = Math.max(240, box.clientWidth);
    if (Math.abs(width - plot.width) > 2) plot.setSize({ width, height: HEIGHT });
  });
  observer.observe(box);
  charts.set(box, { plot, observer });
  return plot;
}
