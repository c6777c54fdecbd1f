/* The filter (search words, status, sort) and the count cards: they filter the list and the
 * map together. The filter lives in the URL (?q=&status=&sort=&driver=): the server renders
 * the list from it (GET /ui/drivers, asked for with "filter-changed"), the markers follow
 * match.js. */

import { selection } from "./fleet.js";
import { applyFilterToMarkers } from "./markers.js";
import { current } from "./match.js";

const LIST_DELAY_MS = 250; // typing: one list request per pause

let listTimer = null;

function fields() {
  return {
    q: document.getElementById("q"),
    status: document.getElementById("status-filter"),
    sort: document.getElementById("sort-order"),
  };
}

function readFilter() {
  const f = fields();
  current.q = f.q ? f.q.value : "";
  current.status = f.status ? f.status.value : "";
  current.sort = f.sort ? f.sort.value : "status";
}

/** Put the filter and the selected driver in the address, without a new history entry. */
export function writeUrl() {
  const params = new URLSearchParams(window.location.search);
  [
    ["q", current.q.trim(), ""],
    ["status", current.status, ""],
    ["sort", current.sort, "status"],
    ["driver", selection.driverId === null ? "" : String(selection.driverId), ""],
  ].forEach(([key, value, fallback]) => {
    if (value && value !== fallback) params.set(key, value);
    else params.delete(key);
  });
  const query = params.toString();
  const url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
  if (url !== window.location.pathname + window.location.search + window.location.hash) {
    window.history.replaceState(window.history.state, "", url);
  }
}

/** The count card of the status filter in force is pressed. */
export function markCountCards() {
  document.querySelectorAll("#fleet-counts [data-filter]").forEach((card) => {
    card.setAttribute("aria-pressed", card.dataset.filter === current.status ? "true" : "false");
  });
}

function filterChanged(immediate) {
  readFilter();
  writeUrl();
  markCountCards();
  applyFilterToMarkers();
  if (listTimer) window.clearTimeout(listTimer);
  listTimer = window.setTimeout(
    () => {
      listTimer = null;
      if (window.htmx) window.htmx.trigger("#driver-list", "filter-changed");
    },
    immediate ? 0 : LIST_DELAY_MS,
  );
}

export function startFilter() {
  readFilter();
  const f = fields();
  if (f.q) {
    f.q.addEventListener("input", () => filterChanged(false));
    f.q.addEventListener("search", () => filterChanged(true));
    f.q.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        filterChanged(true);
      }
    });
  }
  [f.status, f.sort].forEach((select) => {
    if (select) select.addEventListener("change", () => filterChanged(true));
  });
  document.addEventListener("click", (event) => {
    const card = event.target.closest("#fleet-counts [data-filter]");
    if (!card || !f.status) return;
    const key = card.dataset.filter;
    f.status.value = current.status === key ? "" : key;
    filterChanged(true);
  });
}
