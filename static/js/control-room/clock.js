/* Ages that keep counting ("12 s ago"), by the server's clock, and stale drivers.
 *
 * The server's time comes from the page's and the card's data-now, then from the list's Date
 * header (lib/server-clock.js): a dispatcher's PC whose clock is off still shows true ages.
 * The list's rows carry no fix times after the first page (fleet.js seenAt keeps them). */

import { formatTime } from "../lib/format.js";
import { serverNow, setServerOffset } from "../lib/server-clock.js";
import { seenAt } from "./fleet.js";
import { markStaleDrivers } from "./markers.js";

const TICK_MS = 1000;
const RENDER_LAG_MS = 500; // a page was rendered about this long before it arrived

/** The server's time from a data-now attribute on root or inside it. */
export function noteServerTime(root) {
  let el = root && root.querySelector ? root.querySelector("[data-now]") : null;
  if (root && root.dataset && root.dataset.now) el = root;
  const at = el ? Date.parse(el.dataset.now) : NaN;
  if (!isNaN(at)) setServerOffset(at + RENDER_LAG_MS - Date.now());
}

/** The server's time from a Date header: whole seconds, so correct the estimate only when it
 * falls outside that second (and a little latency), or the ages would jitter by a second. */
export function noteServerDate(header) {
  const at = Date.parse(header || "");
  const estimate = serverNow();
  if (!isNaN(at) && (estimate < at || estimate > at + 1500)) setServerOffset(at + RENDER_LAG_MS - Date.now());
}

/** Count every age on, and mark the drivers whose last fix is too old as stale. */
export function tickClock() {
  const now = serverNow();
  document.querySelectorAll("#control-room time[data-format='ago']").forEach((el) => {
    const row = el.closest(".driver-row[data-driver-id]");
    const seen = row ? seenAt.get(Number(row.dataset.driverId)) : undefined;
    if (seen !== undefined) {
      const iso = new Date(seen).toISOString();
      if (el.getAttribute("datetime") !== iso) el.setAttribute("datetime", iso);
    }
    formatTime(el, now);
  });
  markStaleDrivers();
}

export function startClock() {
  noteServerTime(document.getElementById("control-room"));
  window.setInterval(tickClock, TICK_MS);
}
