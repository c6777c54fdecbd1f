/* The position stream is down: after a short grace (a routine reconnect takes 2 s), make it
 * unmistakable: a banner, grey markers and counts (body.is-outage). Ages keep counting. When
 * the stream is back, the list and the card catch up at once. */

import { toast } from "./toast.js";

const GRACE_MS = 2500;
const TEXT = "Connection lost \u2014 positions are not live. Reconnecting\u2026";

let outage = false;
let timer = null;

export function streamDown() {
  if (outage || timer) return;
  timer = window.setTimeout(() => {
    timer = null;
    outage = true;
    document.body.classList.add("is-outage");
    const banner = document.getElementById("outage-banner");
    if (banner) banner.textContent = TEXT;
  }, GRACE_MS);
}

export function streamUp(recovered) {
  if (timer) window.clearTimeout(timer);
  timer = null;
  if (recovered && window.htmx) {
    window.htmx.trigger("#driver-list", "filter-changed");
    window.htmx.trigger(document.body, "refresh-detail");
  }
  if (!outage) return;
  outage = false;
  document.body.classList.remove("is-outage");
  const banner = document.getElementById("outage-banner");
  if (banner) banner.textContent = "";
  toast("Connection back: positions are live again.");
}
