/* hexfleet analytics (/analytics): KPI cards, charts, the map of cells and the drivers table for
 * a range picked in the browser's time zone, from /api/v1/analytics/*.
 *
 * One module per job: range.js (presets), api.js (URLs, answers), cards.js, charts.js,
 * cellmap.js, drivers.js, downloads.js (CSV links), values.js (how figures read).
 * For tests: window.hexfleetAnalytics = {state, loads} (loads counts finished redraws).
 */

import { dateTime } from "../lib/format.js";
import { load } from "./api.js";
import { isEmpty, renderCards } from "./cards.js";
import { drawCells, hourOfWeekText, startMap } from "./cellmap.js";
import { drawChart } from "./charts.js";
import { setDownloads } from "./downloads.js";
import { showDrivers, startDrivers } from "./drivers.js";
import { customRange, dayText, presetRange, viewerZone } from "./range.js";

const $ = (id) => document.getElementById(id);
const SLIDER_WAIT_MS = 250; // a dragged slider asks once it rests, not at every step

const state = {
  tz: viewerZone(),
  preset: "7d",
  vehicleClass: "",
  metric: $("an-metric") ? $("an-metric").value : "pickup_wait_p90",
  cellMetric: "demand",
  how: null,
  ...presetRange("7d"),
};
const shown = { loads: 0 };
window.hexfleetAnalytics = { state, shown };

let running = null; // the AbortController of the loads under way

function status(text, error = false) {
  const el = $("an-status");
  el.textContent = text;
  el.classList.toggle("an-error", error);
}

function rangeText() {
  const to = state.preset === "today" || state.preset === "7d" || state.preset === "30d" ? "now" : dateTime(state.to);
  return dateTime(state.from) + " – " + to;
}

async function loadCells(signal) {
  const answer = await load("cells", state, { metric: state.cellMetric, how: state.how }, signal);
  drawCells(answer, $("an-scale"), mapNote());
}

async function loadMetric(signal) {
  const answer = await load("series", state, { metric: state.metric, bucket: state.bucket }, signal);
  $("chart-metric-caption").textContent = answer.label + (answer.currency ? " (" + answer.currency + ")" : "");
  drawChart($("chart-metric"), [answer]);
}

function mapNote() {
  let note = document.querySelector(".an-map-note");
  if (!note) {
    note = document.createElement("p");
    note.className = "an-map-note muted";
    $("an-map").append(note);
  }
  return note;
}

/** Everything for the current range, at once; an older load still under way is dropped. */
async function loadAll() {
  if (running) running.abort();
  const controller = new AbortController();
  running = controller;
  const signal = controller.signal;
  setDownloads(state);
  status("Loading " + rangeText() + "…");
  try {
    const [summary, requests, completed, drivers] = await Promise.all([
      load("summary", state, {}, signal),
      load("series", state, { metric: "requests", bucket: state.bucket }, signal),
      load("series", state, { metric: "completed", bucket: state.bucket }, signal),
      load("drivers", state, {}, signal),
      loadMetric(signal),
      loadCells(signal),
    ]);
    renderCards($("an-cards"), summary);
    drawChart($("chart-demand"), [requests, completed]);
    showDrivers(drivers);
    const empty = isEmpty(summary);
    $("analytics").classList.toggle("is-empty", empty);
    status(
      empty
        ? "Nothing recorded in " + rangeText() + ": no requests, searches or driver time. Pick another range."
        : rangeText() + " · " + summary.requests + " requests",
    );
    shown.loads += 1;
  } catch (error) {
    if (signal.aborted) return;
    status(error.message || "The figures could not be loaded. Please try again.", true);
  }
}

function pick(preset) {
  document.querySelectorAll("[data-preset]").forEach((b) => b.setAttribute("aria-pressed", b.dataset.preset === preset ? "true" : "false"));
  const custom = $("an-custom");
  const customButton = document.querySelector('[data-preset="custom"]');
  custom.hidden = preset !== "custom";
  customButton.setAttribute("aria-expanded", preset === "custom" ? "true" : "false");
  if (preset === "custom") {
    $("an-from").value = dayText(state.from);
    $("an-to").value = dayText(new Date(state.to.getTime() - 1));
    $("an-from").focus();
    return;
  }
  state.preset = preset;
  Object.assign(state, presetRange(preset));
  loadAll();
}

function start() {
  if (!$("analytics")) return;
  $("an-tz").textContent = state.tz;
  startMap($("an-map"));
  startDrivers($("an-drivers"));
  document.querySelectorAll("[data-preset]").forEach((b) => b.addEventListener("click", () => pick(b.dataset.preset)));
  $("an-range").addEventListener("submit", (event) => {
    event.preventDefault();
    const range = customRange($("an-from").value, $("an-to").value);
    if (!range) {
      status("Pick a first and a last day, the first not after the last.", true);
      return;
    }
    state.preset = "custom";
    Object.assign(state, range);
    loadAll();
  });
  $("an-class").addEventListener("change", () => {
    state.vehicleClass = $("an-class").value;
    loadAll();
  });
  $("an-metric").addEventListener("change", () => {
    state.metric = $("an-metric").value;
    setDownloads(state);
    loadMetric().catch((error) => status(error.message, true));
  });
  $("an-cell-metric").addEventListener("change", () => {
    state.cellMetric = $("an-cell-metric").value;
    setDownloads(state);
    loadCells().catch((error) => status(error.message, true));
  });
  const slider = $("an-how");
  const label = $("an-how-label");
  let wait = null;
  const moved = () => {
    state.how = $("an-how-on").checked ? Number(slider.value) : null;
    label.textContent = state.how === null ? "every hour" : hourOfWeekText(state.how);
    setDownloads(state);
    clearTimeout(wait);
    wait = setTimeout(() => loadCells().catch((error) => status(error.message, true)), SLIDER_WAIT_MS);
  };
  $("an-how-on").addEventListener("change", () => {
    slider.disabled = !$("an-how-on").checked;
    moved();
  });
  slider.addEventListener("input", moved);
  loadAll();
}

start();
