/* Follow a driver: the map keeps them in view as they move, until the dispatcher drags the map. */

import { drivers, selection } from "./fleet.js";
import { destination } from "./glide.js";
import { toast } from "./toast.js";
import { panToVisible } from "./view.js";

let map = null;

/** The Follow button of the driver followed is pressed (it survives the card's refresh). */
export function markFollowButton() {
  document.querySelectorAll("[data-action='follow']").forEach((button) => {
    const on = selection.followId !== null && button.id === "follow-" + selection.followId;
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.classList.toggle("is-on", on);
  });
}

/** Follow driver `id` (null: nobody). */
export function setFollow(id) {
  selection.followId = id;
  markFollowButton();
  const driver = id === null ? null : drivers.get(id);
  if (driver) {
    keepInView(destination(driver), 0);
    toast("Following " + driver.name + ": the map keeps them in view. Drag the map to stop.");
  }
}

/** Pan along with the followed driver's glide. */
export function keepInView(latlng, durationMs) {
  panToVisible(map, latlng, {
    animate: true,
    duration: Math.max(0.25, Math.min(durationMs || 0, 1000) / 1000),
    easeLinearity: 1,
  });
}

export function startFollow(theMap) {
  map = theMap;
  // A dispatcher who drags the map wants to look elsewhere: stop following, and say so.
  map.on("dragstart", () => {
    if (selection.followId === null) return;
    const driver = drivers.get(selection.followId);
    setFollow(null);
    toast("Stopped following " + (driver ? driver.name : "the driver") + ": you moved the map.");
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action='follow']");
    if (!button) return;
    const id = Number(button.id.replace("follow-", ""));
    setFollow(selection.followId === id ? null : id);
    if (selection.followId === null) toast("Stopped following.");
  });
}
