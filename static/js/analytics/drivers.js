/* The drivers table: one row per driver with anything in the range, sortable by every column
 * (click a heading; again for the other way). */

import { escapeHtml } from "../lib/html.js";
import { show } from "./values.js";

let rows = [];
let sortKey = "trips";
let descending = true;
let table = null;

function mainCurrency(drivers) {
  const sums = {};
  drivers.forEach((d) => Object.entries(d.revenue_minor).forEach(([c, v]) => (sums[c] = (sums[c] || 0) + v)));
  return Object.keys(sums).sort((a, b) => sums[b] - sums[a])[0] || null;
}

function sortValue(row, key) {
  if (key === "name") return (row.name || "").toLocaleLowerCase();
  if (key === "online" || key === "on_trip") return row.hours[key];
  if (key === "revenue") return row.revenueMain;
  return row[key];
}

function compare(a, b) {
  const x = sortValue(a, sortKey);
  const y = sortValue(b, sortKey);
  // Empty values (no offers: no acceptance rate) go last whichever way.
  if (x === null || x === undefined) return y === null || y === undefined ? a.id - b.id : 1;
  if (y === null || y === undefined) return -1;
  const order = typeof x === "string" ? x.localeCompare(y) : x - y;
  return (descending ? -order : order) || a.id - b.id;
}

function render() {
  const body = table.tBodies[0];
  table.querySelectorAll("th").forEach((th) => {
    const on = th.dataset.key === sortKey;
    th.setAttribute("aria-sort", on ? (descending ? "descending" : "ascending") : "none");
  });
  if (!rows.length) {
    body.innerHTML = '<tr><td colspan="8" class="an-empty-row muted">No driver worked or was offered a ride in this range.</td></tr>';
    return;
  }
  const sorted = [...rows].sort(compare);
  body.innerHTML = sorted
    .map((d) => {
      const others = Object.keys(d.revenue_minor).filter((c) => c !== d.currency);
      const revenue = show(d.revenueMain, "minor", d.currency) + others.map((c) => " + " + show(d.revenue_minor[c], "minor", c)).join("");
      return (
        '<tr data-driver-id="' + d.id + '">' +
        '<th scope="row">' + escapeHtml(d.name || "Driver #" + d.id + " (deleted)") + "</th>" +
        "<td>" + escapeHtml(show(d.hours.online, "h")) + "</td>" +
        "<td>" + escapeHtml(show(d.hours.on_trip, "h")) + "</td>" +
        "<td>" + escapeHtml(show(d.utilisation, "share")) + "</td>" +
        "<td>" + escapeHtml(show(d.trips, "count")) + "</td>" +
        "<td>" + escapeHtml(show(d.acceptance_rate, "share")) + "</td>" +
        "<td>" + escapeHtml(d.currency ? revenue : "—") + "</td>" +
        "<td>" + escapeHtml(show(d.distance_km, "km")) + "</td>" +
        "</tr>"
      );
    })
    .join("");
}

export function startDrivers(el) {
  table = el;
  table.querySelectorAll("th button").forEach((button) => {
    button.addEventListener("click", () => {
      const key = button.parentElement.dataset.key;
      if (key === sortKey) descending = !descending;
      else {
        sortKey = key;
        descending = button.parentElement.dataset.type !== "text"; // names A→Z, figures biggest first
      }
      render();
    });
  });
}

export function showDrivers(answer) {
  const currency = mainCurrency(answer.drivers);
  rows = answer.drivers.map((d) => ({ ...d, currency, revenueMain: currency ? d.revenue_minor[currency] || 0 : null }));
  render();
}
