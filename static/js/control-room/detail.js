/* The selected driver: their row and marker marked, their card (/ui/drivers/<id>, an htmx
 * partial that refreshes itself) and their trail of the last TRAIL_MINUTES on the map. A shared
 * link may name a driver (?driver=12); Escape or the card's close button lets go. */

import { requestJson } from "../lib/http.js";
import { drivers, selection } from "./fleet.js";
import { writeUrl } from "./filter.js";
import { setFollow } from "./follow.js";
import { destination } from "./glide.js";
import { applyMarkerClasses } from "./markers.js";
import { expandSheet, sheetIsLowered } from "./sheet.js";
import { panToVisible } from "./view.js";

const L = window.L;
const TRAIL_MINUTES = 10;

let map = null;
let trail = null;
let trailRequest = 0;

/** The selected row is marked (after every list swap too). */
export function markSelectedRows() {
  document.querySelectorAll(".driver-row").forEach((row) => {
    const on = Number(row.dataset.driverId) === selection.driverId;
    row.classList.toggle("is-selected", on);
    row.setAttribute("aria-pressed", on ? "true" : "false");
  });
}

export function selectDriver(id) {
  const previous = drivers.get(selection.driverId);
  selection.driverId = id;
  if (selection.followId !== null && selection.followId !== id) setFollow(null);
  if (previous) applyMarkerClasses(previous);
  const driver = drivers.get(id);
  if (driver) applyMarkerClasses(driver);
  const input = document.getElementById("selected-driver");
  if (input) input.value = String(id);
  markSelectedRows();
  writeUrl();
  if (window.htmx && document.getElementById("detail")) {
    window.htmx.ajax("GET", "/ui/drivers/" + id, { target: "#detail", swap: "innerHTML" });
  }
  const panel = document.getElementById("panel");
  if (panel) panel.scrollTop = 0;
  loadTrail(id);
}

function clearSelection() {
  const previous = drivers.get(selection.driverId);
  selection.driverId = null;
  setFollow(null);
  if (previous) applyMarkerClasses(previous);
  const input = document.getElementById("selected-driver");
  if (input) input.value = "";
  const slot = document.getElementById("detail");
  if (slot) slot.innerHTML = "";
  removeTrail();
  trailRequest++;
  markSelectedRows();
  writeUrl();
}

function removeTrail() {
  if (trail) {
    trail.remove();
    trail = null;
  }
}

/** A live fix of the selected driver extends their trail. */
export function extendTrail(id, lat, lng) {
  if (id === selection.driverId && trail) trail.addLatLng([lat, lng]);
}

function loadTrail(id) {
  const request = ++trailRequest;
  removeTrail();
  requestJson("/api/v1/drivers/" + id + "/trail?minutes=" + TRAIL_MINUTES)
    .then((answer) => {
      if (!answer.ok || !answer.body) throw new Error("trail answered " + answer.status);
      if (request !== trailRequest) return; // another driver was selected meanwhile
      const points = (answer.body.points || []).map((p) => [p.lat, p.lng]);
      const driver = drivers.get(id);
      const here = driver ? destination(driver) : null;
      if (here) points.push([here.lat, here.lng]);
      trail = L.polyline(points, { className: "hf-trail", color: "#2563eb", weight: 4, opacity: 0.75 }).addTo(map);
      trail.bringToBack();
      if (selection.followId === id) return; // following pans already
      if (here) panToVisible(map, here);
      else if (points.length) panToVisible(map, L.latLng(points[points.length - 1]));
    })
    .catch((error) => {
      if (request !== trailRequest) return;
      const driver = drivers.get(id);
      if (driver) panToVisible(map, driver.marker.getLatLng());
      if (window.console) console.warn("hexfleet: no trail:", error);
    });
}

export function startDetail(theMap) {
  map = theMap;
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-action='close-detail']")) {
      clearSelection();
      return;
    }
    const row = event.target.closest(".driver-row[data-driver-id]");
    if (row) selectDriver(Number(row.dataset.driverId));
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && selection.driverId !== null && !event.target.closest("input, select")) clearSelection();
  });
  // "Skip to driver list": to the selected row, else the first one (the list itself if empty).
  const skip = document.getElementById("skip-to-list");
  if (skip) {
    skip.addEventListener("click", (event) => {
      event.preventDefault();
      if (sheetIsLowered()) expandSheet(true);
      const tab = document.getElementById("tab-drivers");
      if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
      const target =
        document.querySelector(".driver-row.is-selected") ||
        document.querySelector(".driver-row") ||
        document.getElementById("driver-list");
      if (target) target.focus();
    });
  }
}
