/* The driver list and the driver card are htmx partials that refresh every 3 s. This keeps them
 * cheap and calm:
 * - the list sends back the ETag of the rows on screen (webapp/pages/control_room.py), so an
 *   unchanged list is a 304 with no body, which base.html's htmx-config swaps nothing for;
 * - a swap keeps keyboard focus and the scroll position on the same row or card;
 * - rows say which drivers have a recently flagged fix: their markers show it too;
 * - while the position stream is down the server most likely is too: the list and the card
 *   keep what they showed (ages counting on) instead of polling a server that is away; they
 *   catch up as soon as the stream is back (outage.js);
 * - the list's Date header keeps the server's clock (clock.js). */

import { leaveWhenPartialsSignedOut } from "../lib/session.js";
import { isFlagged } from "./attention.js";
import { noteServerDate, noteServerTime, tickClock } from "./clock.js";
import { addCopyButtons } from "./copy.js";
import { markSelectedRows } from "./detail.js";
import { drivers } from "./fleet.js";
import { markCountCards } from "./filter.js";
import { markFollowButton } from "./follow.js";
import { applyMarkerClasses } from "./markers.js";
import { positionsInterrupted } from "./positions.js";

let listEtag = null;
let focusBeforeSwap = null;
let scrollBeforeSwap = 0;

/** Rows say which drivers have a recently flagged fix: show it on their markers too. */
function noteFlags(list) {
  list.querySelectorAll(".driver-row[data-driver-id]").forEach((row) => {
    const driver = drivers.get(Number(row.dataset.driverId));
    if (!driver) return;
    const flagged = row.dataset.flagged === "true";
    if (flagged !== isFlagged(driver)) {
      driver.problemAt = flagged ? Date.now() : null;
      applyMarkerClasses(driver);
    }
  });
}

/** What has focus in the list (a row, a count card, the list): found again after the swap. */
function focusedPlace() {
  const active = document.activeElement;
  if (!active || !active.closest) return null;
  const row = active.closest(".driver-row[data-driver-id]");
  const card = active.closest("#fleet-counts [data-filter]");
  if (row) return '.driver-row[data-driver-id="' + row.dataset.driverId + '"]';
  if (card) return '#fleet-counts [data-filter="' + card.dataset.filter + '"]';
  if (active.id === "driver-list") return "#driver-list";
  return null;
}

function afterListSwap(list, xhr) {
  listEtag = (xhr && xhr.getResponseHeader("ETag")) || null;
  markSelectedRows();
  markCountCards();
  noteFlags(list);
  list.scrollTop = scrollBeforeSwap;
  if (focusBeforeSwap) {
    (document.querySelector(focusBeforeSwap) || list).focus({ preventScroll: true });
    focusBeforeSwap = null;
  }
}

export function startList() {
  const body = document.body;
  const list = document.getElementById("driver-list");
  const panel = document.getElementById("panel");
  listEtag = (list && list.dataset.etag) || null;
  leaveWhenPartialsSignedOut({ withQuery: true });

  body.addEventListener("htmx:configRequest", (event) => {
    if (listEtag && event.detail.elt === list) event.detail.headers["If-None-Match"] = listEtag;
  });
  body.addEventListener("htmx:beforeSwap", (event) => {
    if (!event.detail.shouldSwap || !event.detail.target || event.detail.target.id !== "driver-list") return;
    focusBeforeSwap = focusedPlace();
    scrollBeforeSwap = event.detail.target.scrollTop;
  });
  body.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (!target) return;
    if (target.id === "driver-list") afterListSwap(target, event.detail.xhr);
    // An outerHTML swap (the detail card) leaves the old, detached element as the target: look
    // at the page itself; it is a few dozen elements.
    const root = target.isConnected ? target : document;
    markFollowButton();
    noteServerTime(root === document ? document.getElementById("driver-detail") : root);
    addCopyButtons(root);
    tickClock();
  });
  body.addEventListener("htmx:beforeRequest", (event) => {
    if (!positionsInterrupted()) return;
    const elt = event.detail.elt;
    if (elt && (elt.id === "driver-list" || elt.id === "driver-detail")) event.preventDefault();
  });
  body.addEventListener("htmx:responseError", () => panel && panel.classList.add("is-degraded"));
  body.addEventListener("htmx:sendError", () => panel && panel.classList.add("is-degraded"));
  body.addEventListener("htmx:afterRequest", (event) => {
    if (panel && event.detail.successful) panel.classList.remove("is-degraded");
    // The list no longer carries the server's time (data-now): its Date header does, 304 or not.
    const xhr = event.detail.xhr;
    if (event.detail.elt === list && xhr && xhr.status) noteServerDate(xhr.getResponseHeader("Date"));
  });
}
