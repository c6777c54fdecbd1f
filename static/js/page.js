/* Every page (base.html): what the server rendered in UTC and minor units, shown the viewer's way.
 *
 * Times, amounts, distances and durations (lib/format.js formatWithin) are formatted when the
 * page loads and again in whatever htmx swaps in. A time's UTC is in its title (hover); on a
 * touch screen, where nothing hovers, a tap on the time shows its UTC instead, and another tap
 * the local time again.
 */

import { formatWithin } from "./lib/format.js";

const NO_HOVER = window.matchMedia ? window.matchMedia("(hover: none)") : { matches: false };

formatWithin(document);

["htmx:afterSwap", "htmx:oobAfterSwap"].forEach((name) => {
  document.addEventListener(name, (event) => {
    // An outerHTML swap leaves the old, detached element as the target: look at the page then.
    const target = event.detail && event.detail.target;
    formatWithin(target && target.isConnected ? target : document);
  });
});

/** Tap a time to see it in UTC (touch screens only; links and buttons keep their own tap). */
function toggleUtc(el) {
  const utc = (el.title.split(" · ").pop() || "").trim();
  if (!utc) return;
  if (el.dataset.utcShown === "true") {
    el.dataset.utcShown = "false";
    el.textContent = el.dataset.localText || el.textContent;
  } else {
    el.dataset.localText = el.textContent;
    el.dataset.utcShown = "true";
    el.textContent = utc;
  }
}

document.addEventListener("click", (event) => {
  if (!NO_HOVER.matches || !event.target.closest) return;
  const el = event.target.closest("time[datetime][title]");
  if (!el || el.closest("a, button, summary, label, [role='button']")) return;
  toggleUtc(el);
});
