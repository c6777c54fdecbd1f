/* The map of cells (H3 resolution 7) coloured by the chosen metric: demand, unmet demand, supply,
 * utilisation or surge, over the whole range or one hour of the week (the slider). */

import { addTiles } from "../lib/tiles.js";
import { time } from "../lib/format.js";
import { escapeHtml } from "../lib/html.js";
import { show } from "./values.js";

const L = window.L;
// Light to dark: five steps of one hue, readable over a street map.
const STEPS = ["#fef3c7", "#fcd34d", "#f59e0b", "#ea580c", "#b91c1c"];
const NONE = "#cbd5e1";

let map = null;
let layer = null;
let fitted = false;

export function startMap(el) {
  map = L.map(el, { zoomControl: true, attributionControl: true, scrollWheelZoom: false });
  map.setView([Number(el.dataset.centerLat) || 0, Number(el.dataset.centerLng) || 0], 11);
  addTiles(map, el.dataset.tileUrl, { attribution: el.dataset.tileAttribution, advice: "The cells are drawn without it." });
  layer = L.layerGroup().addTo(map);
  return map;
}

function colour(value, max) {
  if (value === null || value === undefined) return NONE;
  if (max <= 0) return STEPS[0];
  // A square-root scale: a city's busiest cells hold many times the rest, and a linear one
  // would paint all but a few in the lightest step.
  const i = Math.min(STEPS.length - 1, Math.floor(Math.sqrt(Math.max(0, value) / max) * STEPS.length));
  return STEPS[Math.max(0, i)];
}

function tooltip(cell, answer) {
  return (
    "<strong>" + escapeHtml(answer.label) + ": " + escapeHtml(show(cell.value, answer.unit)) + "</strong><br>" +
    escapeHtml(show(cell.demand, "count")) + " requests · " + escapeHtml(show(cell.unmet, "count")) + " without a driver<br>" +
    escapeHtml(show(cell.supply_hours, "h")) + " available · utilisation " + escapeHtml(show(cell.utilisation, "share")) +
    (cell.surge_avg ? " · surge ×" + escapeHtml(String(cell.surge_avg)) : "")
  );
}

/** Draw the /cells answer; `scale` gets the legend, `note` says when there is nothing. */
export function drawCells(answer, scale, note) {
  layer.clearLayers();
  const values = answer.cells.map((c) => c.value).filter((v) => v !== null && v !== undefined);
  const max = values.length ? Math.max(...values) : 0;
  const bounds = [];
  answer.cells.forEach((cell) => {
    const fill = colour(cell.value, max);
    L.polygon(cell.outline, { color: "#7c2d12", weight: 0.6, opacity: 0.5, fillColor: fill, fillOpacity: 0.6, className: "an-cell" })
      .bindTooltip(tooltip(cell, answer), { sticky: true, className: "hf-tooltip" })
      .addTo(layer);
    bounds.push(...cell.outline);
  });
  if (bounds.length && !fitted) {
    map.fitBounds(bounds, { padding: [12, 12] });
    fitted = true;
  }
  map.getContainer().dataset.cells = String(answer.cells.length);
  map.getContainer().dataset.metric = answer.metric;
  const from = (i) => max * (i / STEPS.length) ** 2; // where step i starts on the square-root scale
  scale.innerHTML = values.length
    ? STEPS.map((c, i) => '<span><i class="an-step-' + i + '"></i>' + escapeHtml(show(from(i), answer.unit)) + "+</span>").join("") +
      '<span><i class="an-step-none"></i>no value</span>'
    : ""; // the colours are app CSS (analytics.css): the page's policy allows no style attributes
  note.hidden = answer.cells.length > 0;
  note.textContent = answer.how === null ? "No requests or driver time by place in this range." : "Nothing at this hour of the week in this range.";
}

/** "Mon 08:00–09:00" for hour of week 8 (0 is Monday 00:00), in the viewer's locale. */
export function hourOfWeekText(how) {
  const monday = new Date(2024, 0, 1); // a Monday: only its weekday and hours are read
  const start = new Date(monday.getFullYear(), 0, 1 + Math.floor(how / 24), how % 24);
  const end = new Date(start.getTime() + 3600 * 1000);
  const day = new Intl.DateTimeFormat(undefined, { weekday: "short" }).format(start);
  return day + " " + time(start) + "–" + time(end);
}
