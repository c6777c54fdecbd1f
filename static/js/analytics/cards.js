/* The KPI cards: each figure of the range, and how it moved against the same length of time
 * just before (green when it moved the good way, red the bad way). */

import { escapeHtml } from "../lib/html.js";
import { number } from "../lib/format.js";
import { show } from "./values.js";

const get = (body, path) => path.split(".").reduce((v, k) => (v === null || v === undefined ? v : v[k]), body);

// key (a path in the summary), label, unit, which way is better (+1 up, -1 down, 0 neither), a detail line
const CARDS = [
  ["requests", "Requests", "count", 1, (b) => show(b.searches, "count") + " searches, " + show(b.conversion, "share") + " booked"],
  ["completed", "Completed", "count", 1, (b) => show(b.completion_rate, "share") + " of requests that ended"],
  ["no_driver", "No driver", "count", -1, () => "unmet demand"],
  ["cancelled.total", "Cancelled", "count", -1, (b) =>
    "rider " + show(b.cancelled.rider, "count") + " · dispatch " + show(b.cancelled.dispatcher, "count") +
    " · system " + show(b.cancelled.system, "count") + " · given back by drivers " + show(b.cancelled.driver, "count")],
  ["acceptance_rate", "Offers accepted", "share", 1, (b) => show(b.offers_sent, "count") + " offers, median answer " + show(b.response_time_s.p50, "s")],
  ["time_to_assign_s.p50", "Time to assign", "s", -1, (b) => "median; p90 " + show(b.time_to_assign_s.p90, "s")],
  ["pickup_wait_s.p50", "Pickup wait", "s", -1, (b) => "median; p90 " + show(b.pickup_wait_s.p90, "s")],
  ["eta.within_band", "ETAs kept", "share", 1, (b) => "mean error " + show(b.eta.mae_s, "s") + ", bias " + signed(b.eta.bias_s)],
  ["revenue", "Revenue", "minor", 1, (b) => fareLine(b)],
  ["driver_hours.online", "Driver hours online", "h", 0, (b) => show(b.driver_hours.on_trip, "h") + " on trip, " + show(b.driver_hours.en_route, "h") + " en route"],
  ["utilisation", "Utilisation", "share", 1, () => "on trip ÷ online"],
  ["surge_avg", "Average surge", "×", 0, () => "quotes for rides now"],
];

function signed(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  return (seconds > 0 ? "+" : seconds < 0 ? "−" : "") + show(Math.abs(seconds), "s") + (seconds > 0 ? " late" : seconds < 0 ? " early" : "");
}

/** The currency with the most revenue now (or before), and its amount. */
function mainCurrency(body) {
  const all = { ...(body.previous ? body.previous.revenue_minor : {}), ...body.revenue_minor };
  const codes = Object.keys(all).sort((a, b) => (body.revenue_minor[b] || 0) - (body.revenue_minor[a] || 0));
  return codes[0] || null;
}

function fareLine(body) {
  const currency = mainCurrency(body);
  const others = Object.keys(body.revenue_minor).filter((c) => c !== currency);
  const perKm = currency ? body.fare_per_km_minor[currency] : null;
  let text = perKm === null || perKm === undefined ? "completed rides" : show(Math.round(perKm), "minor", currency) + " per km";
  if (others.length) text += " · " + others.map((c) => show(body.revenue_minor[c], "minor", c)).join(" · ");
  return text;
}

function value(body, key) {
  if (key === "revenue") {
    const currency = mainCurrency(body);
    return currency ? body.revenue_minor[currency] || 0 : null;
  }
  return get(body, key);
}

/** The change as text and its class: +12 %, −3 pts (shares move in points), new, or nothing. */
function change(now, before, unit, better) {
  if (now === null || now === undefined || before === null || before === undefined) return ["", ""];
  const diff = now - before;
  if (diff === 0) return ["no change", "an-flat"];
  const good = better === 0 ? "an-flat" : Math.sign(diff) === better ? "an-good" : "an-bad";
  const arrow = diff > 0 ? "▲ " : "▼ ";
  if (unit === "share") return [arrow + number(Math.abs(diff) * 100, 1) + " pts", good];
  if (before === 0) return [arrow + "from none", good];
  const pct = Math.abs(diff / before) * 100;
  return [arrow + number(pct, pct < 10 ? 1 : 0) + " %", good];
}

export function renderCards(root, body) {
  const currency = mainCurrency(body);
  root.innerHTML = CARDS.map(([key, label, unit, better, detail]) => {
    const now = value(body, key);
    const before = body.previous ? value(body.previous, key) : null;
    const [moved, tone] = change(now, before, unit, better);
    const title = "Before: " + show(before, unit, currency);
    return (
      '<article class="an-card" data-kpi="' + escapeHtml(key) + '">' +
      '<h3 class="an-card-label">' + escapeHtml(label) + "</h3>" +
      '<p class="an-card-value">' + escapeHtml(show(now, unit, currency)) + "</p>" +
      '<p class="an-card-change ' + tone + '" title="' + escapeHtml(title) + '">' + escapeHtml(moved || "\u00a0") + "</p>" +
      '<p class="an-card-detail muted small">' + escapeHtml(detail(body)) + "</p>" +
      "</article>"
    );
  }).join("");
}

/** True when the range holds nothing at all (no request, no search, no driver time). */
export function isEmpty(body) {
  return !body.requests && !body.searches && !body.driver_hours.online && !body.offers_sent;
}
