/* The booking whose card is open, on the map: pickup (A), drop-off (B), the line between, and
 * its driver's marker highlighted. */

import { markers } from "./fleet.js";

const L = window.L;

let map = null;
let layer = null;
let highlighted = null;

/** An A or B pin (the phone booking's draft pins use it too); its title names the place. */
export function pin(latlng, kind, letter, placeName) {
  const what = kind === "pickup" ? "Pickup" : "Drop-off";
  return L.marker(latlng, {
    icon: L.divIcon({ className: "hf-pin hf-pin-" + kind, html: "<span><b>" + letter + "</b></span>", iconSize: [28, 28], iconAnchor: [14, 28] }),
    keyboard: false,
    title: placeName ? what + ": " + placeName : what,
  });
}

export function clearBookingLayers() {
  if (layer) layer.clearLayers();
  if (highlighted) {
    const el = highlighted.getElement();
    if (el) el.classList.remove("is-booking-driver");
    highlighted = null;
  }
}

export function drawSelectedBooking() {
  clearBookingLayers();
  const card = document.getElementById("booking-detail");
  if (!card || !card.dataset.bookingId || document.getElementById("pane-bookings").hidden) return;
  const pickup = L.latLng(parseFloat(card.dataset.pickupLat), parseFloat(card.dataset.pickupLng));
  const dropoff = L.latLng(parseFloat(card.dataset.dropoffLat), parseFloat(card.dataset.dropoffLng));
  L.polyline([pickup, dropoff], { className: "hf-route", color: "#0f766e", weight: 3, dashArray: "6 6", opacity: 0.8 }).addTo(layer);
  pin(pickup, "pickup", "A", card.dataset.pickupLabel).addTo(layer);
  pin(dropoff, "dropoff", "B", card.dataset.dropoffLabel).addTo(layer);
  const points = [pickup, dropoff];
  const driverId = Number(card.dataset.driverId);
  if (driverId && markers.has(driverId)) {
    highlighted = markers.get(driverId);
    const el = highlighted.getElement();
    if (el) el.classList.add("is-booking-driver");
    points.push(highlighted.getLatLng());
  }
  map.fitBounds(L.latLngBounds(points), { padding: [60, 60], maxZoom: 16 });
}

export function startBookingMap(theMap) {
  map = theMap;
  layer = L.layerGroup().addTo(map);
}
