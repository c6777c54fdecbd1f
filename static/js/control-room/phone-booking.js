/* A booking for a caller: the dispatcher finds pickup and drop-off by name (lib/place-search.js:
 * the operator's places first, then the geocoder), types coordinates, or clicks the map; picks
 * now or later; and the form (an htmx partial) asks for the price.
 *
 * Each end has a search box and three hidden fields the form sends: <end>_lat, <end>_lng and
 * <end>_label (the place's name, or the geocoder's address; empty for coordinates and map
 * clicks, which the server names after the nearest place). Typing into a box after a pick lets
 * the pick go: what is sent is always what the box says. */

import { distance } from "../lib/format.js";
import { requestJson } from "../lib/http.js";
import { categoryLabel, placeSearch } from "../lib/place-search.js";
import { goToLogin } from "../lib/session.js";
import { pin } from "./booking-map.js";
import { expandSheet, sheetIsLowered } from "./sheet.js";

const L = window.L;
const MIN_AHEAD_MIN = 15; // as hexfleet.rides.windows
const MAX_AHEAD_MIN = 30 * 24 * 60;
const KINDS = ["pickup", "dropoff"];
const TITLES = { pickup: "pickup", dropoff: "drop-off" };
const DESCRIBE_DELAY_MS = 250; // typing coordinates: one "near ..." lookup per pause
const SHEET_HEAD_PX = 100; // the sheet's grip and tabs, which stay at its top
const SHEET_MOVE_MS = 260; // the sheet's height transition (app.css), and a little

let map = null;
let picking = null; // "pickup" | "dropoff"
const draft = { pickup: null, dropoff: null };
const describing = { pickup: null, dropoff: null }; // AbortControllers of "near ..." lookups

/** A clicked or typed point this close to a place is named after it (PLACE_LABEL_RADIUS_M). */
function nearPlaceM() {
  const mapEl = document.getElementById("map");
  return (mapEl && parseFloat(mapEl.dataset.placeRadiusM)) || 150;
}

function form() {
  return document.getElementById("phone-booking-form");
}

/** "52.52, 13.405", "52.52 13.405" or "52.52;13.405": {lat, lng}, else null. */
export function parseCoords(text) {
  const m = String(text)
    .trim()
    .match(/^(-?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,3}(?:\.\d+)?)$/);
  if (!m) return null;
  const lat = parseFloat(m[1]);
  const lng = parseFloat(m[2]);
  if (!(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180)) return null;
  return { lat, lng };
}

function coordsText(lat, lng) {
  return lat.toFixed(5) + ", " + lng.toFixed(5);
}

/** What a pick is called: a place by its name, a geocoder's answer by its whole address. */
function labelOf(result) {
  return result.source === "geocoder" ? result.address || result.name : result.name;
}

export function clearDraftPins() {
  KINDS.forEach((kind) => {
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

function drawDraft(kind, latlng, label) {
  if (draft[kind]) draft[kind].remove();
  draft[kind] = pin(latlng, kind, kind === "pickup" ? "A" : "B", label).addTo(map);
}

function parts(kind) {
  const f = form();
  if (!f) return null;
  return {
    input: f.querySelector("[data-place-input='" + kind + "']"),
    note: f.querySelector("[data-point-note='" + kind + "']"),
    lat: f.elements[kind + "_lat"],
    lng: f.elements[kind + "_lng"],
    label: f.elements[kind + "_label"],
  };
}

function say(kind, text, tone) {
  const p = parts(kind);
  if (!p || !p.note) return;
  p.note.textContent = text || "";
  p.note.classList.toggle("is-error", tone === "error");
}

/** Set an end: the fields the form sends, its pin, and (text) what its box shows. */
function setPoint(kind, lat, lng, label, text) {
  const p = parts(kind);
  if (!p) return;
  p.lat.value = lat.toFixed(6);
  p.lng.value = lng.toFixed(6);
  p.label.value = label || "";
  if (text !== undefined) p.input.value = text;
  p.input.setCustomValidity("");
  drawDraft(kind, L.latLng(lat, lng), label);
}

function clearPoint(kind) {
  const p = parts(kind);
  if (!p) return;
  p.lat.value = "";
  p.lng.value = "";
  p.label.value = "";
  if (draft[kind]) draft[kind].remove();
  draft[kind] = null;
}

/** A point without a name (clicked, typed): say which place it is near, if any, once the typing
 * pauses (each keystroke of "53.55, 10.00" is a point of its own). */
function describe(kind, lat, lng) {
  if (describing[kind]) describing[kind].abort();
  const controller = new AbortController();
  describing[kind] = controller;
  say(kind, "");
  window.setTimeout(() => {
    if (controller.signal.aborted) return;
    const url = "/api/v1/places?limit=1&near=" + lat.toFixed(5) + "," + lng.toFixed(5);
    requestJson(url, { signal: controller.signal })
      .then((answer) => {
        const place = answer.ok && answer.body && (answer.body.results || [])[0];
        if (place && place.source === "place" && place.distance_m <= nearPlaceM()) {
          say(kind, "Near " + place.name + " (" + distance(place.distance_m) + ")");
        }
      })
      .catch(() => {}); // aborted by a newer point, or the server away: the point stands without a name
  }, DESCRIBE_DELAY_MS);
}

function showIfHidden(latlng) {
  if (map && !map.getBounds().pad(-0.1).contains(latlng)) map.panTo(latlng);
}

function bindEnd(f, kind) {
  const p = parts(kind);
  if (!p || !p.input) return;
  placeSearch({
    input: p.input,
    list: f.querySelector("#pb-" + kind + "-options"),
    near: () => {
      const c = map.getCenter();
      return { lat: c.lat, lng: c.lng };
    },
    skip: (text) => !!parseCoords(text),
    onPick: (result) => {
      const label = labelOf(result);
      setPoint(kind, result.lat, result.lng, label, label);
      const address = result.address && result.address !== label ? " · " + result.address : "";
      say(kind, categoryLabel(result) + address);
      showIfHidden(L.latLng(result.lat, result.lng));
      // Keyboard-friendly: the next empty end is where the dispatcher goes next.
      const other = kind === "pickup" ? parts("dropoff") : null;
      if (other && other.input && !other.lat.value) other.input.focus();
    },
    onMessage: (text, tone) => say(kind, text, tone),
    onUnauthorized: () => goToLogin(),
  });
  // On a phone the results need room: raise the sheet and bring the box up under the tabs.
  p.input.addEventListener("focus", () => {
    const panel = document.getElementById("panel");
    if (!panel || window.getComputedStyle(panel).position !== "absolute") return; // a desktop
    if (sheetIsLowered()) expandSheet(true);
    window.setTimeout(() => {
      const field = p.input.closest(".point-field") || p.input;
      panel.scrollTop += field.getBoundingClientRect().top - panel.getBoundingClientRect().top - SHEET_HEAD_PX;
    }, SHEET_MOVE_MS);
  });
  p.input.addEventListener("input", () => {
    const coords = parseCoords(p.input.value);
    if (coords) {
      setPoint(kind, coords.lat, coords.lng, "");
      describe(kind, coords.lat, coords.lng);
    } else {
      clearPoint(kind); // the box no longer says what was chosen
      if (!p.input.value.trim()) say(kind, "");
    }
  });
}

/** Each end must be a point before the price is asked: say so at the box, not after a round trip. */
function checkEnds(f) {
  for (const kind of KINDS) {
    const p = parts(kind);
    if (!p || p.lat.value) continue;
    const typed = p.input.value.trim();
    p.input.setCustomValidity(
      typed
        ? "Choose the " + TITLES[kind] + " from the places found, set it on the map, or type its coordinates (lat, lng)."
        : "Search the " + TITLES[kind] + " by name, set it on the map, or type its coordinates (lat, lng).",
    );
    p.input.reportValidity();
    p.input.addEventListener("input", () => p.input.setCustomValidity(""), { once: true });
    return false;
  }
  return true;
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

/** A new form in the card: its search boxes, its points drawn, its "when", and picking the pickup. */
export function bindPhoneForm() {
  const f = form();
  if (!f || f.dataset.bound) return;
  f.dataset.bound = "1";
  KINDS.forEach((kind) => {
    bindEnd(f, kind);
    const p = parts(kind);
    const lat = parseFloat(p.lat.value);
    const lng = parseFloat(p.lng.value);
    if (!isNaN(lat) && !isNaN(lng)) drawDraft(kind, L.latLng(lat, lng), p.label.value);
  });
  const when = f.querySelector("[data-when]");
  const later = f.querySelector("[data-later]");
  when.addEventListener("change", () => {
    later.hidden = when.value !== "later";
  });
  f.addEventListener("htmx:configRequest", (event) => {
    if (!checkEnds(f)) {
      event.preventDefault();
      return;
    }
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
  if (!parts("pickup").lat.value) startPicking("pickup", f.querySelector("[data-pick='pickup']"));
}

export function startPhoneBooking(theMap) {
  map = theMap;
  map.on("click", (event) => {
    if (!picking) return;
    const kind = picking;
    const { lat, lng } = event.latlng;
    setPoint(kind, lat, lng, "", coordsText(lat, lng));
    describe(kind, lat, lng);
    const next = kind === "pickup" && !parts("dropoff").lat.value ? "dropoff" : null;
    stopPicking();
    if (next) startPicking(next, document.querySelector("[data-pick='dropoff']"));
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-pick]");
    if (button) startPicking(button.dataset.pick, button, true);
  });
}
