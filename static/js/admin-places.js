/* The places admin page (/admin/places): a small map in the add and edit forms to place a
 * place's pin (click) or move it (drag); the latitude and longitude fields follow, and typing
 * coordinates moves the pin. Forms arrive by htmx swaps, so each new one gets its map when it
 * appears. Without Leaflet (or JavaScript) the coordinates are typed, as the form says.
 *
 * The page's settings (tile URL, attribution, map centre) come from data attributes on
 * [data-places-map], never from inline script (the CSP forbids it).
 */

const L = window.L;
const config = document.querySelector("[data-places-map]");
const DIGITS = 6; // about 0.1 m: more than any pin needs

function centre() {
  const parts = (config?.dataset.center || "52.52,13.405").split(",").map(Number);
  return parts.length === 2 && parts.every(Number.isFinite) ? parts : [52.52, 13.405];
}

function position(latInput, lngInput) {
  const lat = Number.parseFloat(latInput.value);
  const lng = Number.parseFloat(lngInput.value);
  if (!Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180) return null;
  return [lat, lng];
}

function attach(element) {
  if (element.dataset.ready) return;
  const form = element.closest("form");
  const latInput = form?.querySelector("[data-place-lat]");
  const lngInput = form?.querySelector("[data-place-lng]");
  if (!latInput || !lngInput) return;
  element.dataset.ready = "1";

  const start = position(latInput, lngInput);
  const map = L.map(element, { attributionControl: Boolean(config?.dataset.tileUrl) });
  if (config?.dataset.tileUrl) {
    L.tileLayer(config.dataset.tileUrl, { attribution: config.dataset.attribution || "", maxZoom: 19 }).addTo(map);
  }
  map.setView(start || centre(), start ? 16 : 12);
  let marker = null;

  function fill(latlng) {
    latInput.value = latlng.lat.toFixed(DIGITS);
    lngInput.value = latlng.lng.toFixed(DIGITS);
  }

  function place(latlng) {
    if (marker) {
      marker.setLatLng(latlng);
      return;
    }
    // A drawn pin (admin-places.css; its tip 17 px below its centre): the vendored Leaflet carries
    // no 1x marker image.
    const icon = L.divIcon({ className: "place-pin", iconSize: [24, 24], iconAnchor: [12, 29] });
    marker = L.marker(latlng, { icon, draggable: true, keyboard: true, title: "Drag to move" }).addTo(map);
    marker.on("dragend", () => fill(marker.getLatLng()));
  }

  if (start) place(start);
  map.on("click", (event) => {
    place(event.latlng);
    fill(event.latlng);
  });
  for (const input of [latInput, lngInput]) {
    input.addEventListener("change", () => {
      const typed = position(latInput, lngInput);
      if (!typed) return;
      place(typed);
      map.panTo(typed);
    });
  }
  // A map drawn inside a closed <details> has no size yet: measure again when it opens.
  const details = element.closest("details");
  if (details) details.addEventListener("toggle", () => details.open && map.invalidateSize());
}

function attachWithin(root) {
  if (!L || !root.querySelectorAll) return;
  if (root.matches?.("[data-place-map]")) attach(root);
  root.querySelectorAll("[data-place-map]").forEach(attach);
}

attachWithin(document);
document.body.addEventListener("htmx:load", (event) => attachWithin(event.detail.elt));
