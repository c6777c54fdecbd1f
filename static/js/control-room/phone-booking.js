/* A booking for a caller: the dispatcher sets pickup and drop-off by clicking the map (or types
 * them), picks now or later, and the form (an htmx partial) asks for the price. */

import { pin } from "./booking-map.js";

const L = window.L;
const MIN_AHEAD_MIN = 15; // as hexfleet.rides.windows
const MAX_AHEAD_MIN = 30 * 24 * 60;

let map = null;
let picking = null; // "pickup" | "dropoff"
const draft = { pickup: null, dropoff: null };

function form() {
  return document.getElementById("phone-booking-form");
}

export function clearDraftPins() {
  ["pickup", "dropoff"].forEach((kind) => {
    if (draft[kind]) draft[kind].remove();
    draft[kind] = null;
  });
}

function startPicking(kind, button, lowerSheet) {
  picking = kind;
  // On a phone the bottom sheet covers most of the map: lower it so the map can be tapped.
  const panel = document.getElementById("panel");
  if (lowerSheet && panel && window.getComputedStyle(panel).position === "absolute" && panel.dataset.expanded === "true") {
    const handle = document.getElementById("sheet-handle");
    if (handle) handle.click();
  }
  map.getContainer().classList.add("is-picking");
  document.querySelectorAll("[data-pick]").forEach((b) => {
    b.classList.toggle("is-active", b === button);
    b.textContent = b === button ? "Click the map…" : "Set on map";
  });
}

export function stopPicking() {
  picking = null;
  map.getContainer().classList.remove("is-picking");
  document.querySelectorAll("[data-pick]").forEach((b) => {
    b.classList.remove("is-active");
    b.textContent = "Set on map";
  });
}

function drawDraft(kind, latlng) {
  if (draft[kind]) draft[kind].remove();
  draft[kind] = pin(latlng, kind, kind === "pickup" ? "A" : "B").addTo(map);
}

function setPoint(kind, latlng) {
  const f = form();
  if (!f) return;
  f.elements[kind + "_lat"].value = latlng.lat.toFixed(6);
  f.elements[kind + "_lng"].value = latlng.lng.toFixed(6);
  drawDraft(kind, latlng);
}

function draftValue(kind) {
  const f = form();
  return f && f.elements[kind + "_lat"].value;
}

function pad(n) {
  return String(n).padStart(2, "0");
}

/** datetime-local is the dispatcher's wall clock: give it its UTC offset (RFC 3339). */
function localToIso(value) {
  const when = new Date(value);
  if (isNaN(when.getTime())) return "";
  const offset = -when.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return (
    when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) + "T" +
    pad(when.getHours()) + ":" + pad(when.getMinutes()) + ":00" + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60)
  );
}

/** A new form in the card: draw its points, wire its "when", and start picking the pickup. */
export function bindPhoneForm() {
  const f = form();
  if (!f || f.dataset.bound) return;
  f.dataset.bound = "1";
  ["pickup", "dropoff"].forEach((kind) => {
    const lat = parseFloat(f.elements[kind + "_lat"].value);
    const lng = parseFloat(f.elements[kind + "_lng"].value);
    if (!isNaN(lat) && !isNaN(lng)) drawDraft(kind, L.latLng(lat, lng));
  });
  const when = f.querySelector("[data-when]");
  const later = f.querySelector("[data-later]");
  when.addEventListener("change", () => {
    later.hidden = when.value !== "later";
  });
  f.addEventListener("htmx:configRequest", (event) => {
    if (when.value !== "later") return;
    const input = f.elements.scheduled_local;
    const iso = localToIso(input.value);
    const ahead = (Date.parse(iso) - Date.now()) / 60000;
    if (!iso || ahead < MIN_AHEAD_MIN || ahead > MAX_AHEAD_MIN) {
      event.preventDefault();
      input.setCustomValidity("Pick a time between 15 minutes and 30 days from now.");
      input.reportValidity();
      return;
    }
    input.setCustomValidity("");
    event.detail.parameters.scheduled_for = iso;
  });
  // A new form: the next click on the map sets the pickup (then the drop-off).
  if (!draftValue("pickup")) startPicking("pickup", f.querySelector("[data-pick='pickup']"));
}

export function startPhoneBooking(theMap) {
  map = theMap;
  map.on("click", (event) => {
    if (!picking) return;
    setPoint(picking, event.latlng);
    const next = picking === "pickup" && !draftValue("dropoff") ? "dropoff" : null;
    stopPicking();
    if (next) startPicking(next, document.querySelector("[data-pick='dropoff']"));
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-pick]");
    if (button) startPicking(button.dataset.pick, button, true);
  });
}
