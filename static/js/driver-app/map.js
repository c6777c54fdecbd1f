/* The driver's map: where they are, and the offer's or the ride's pins, framed to fit.
 *
 * Tiles come through lib/tiles.js (the credit once a tile has loaded, a notice the driver can
 * dismiss when they cannot be had). Without tiles the map draws the operator's places by name
 * around the driver instead (lib/places-layer.js; the places API answers a driver's session),
 * and draws them again when the driver has moved PLACES_AGAIN_M from where they were drawn. */

import { metresBetween } from "../lib/geo.js";
import { showPlaces } from "../lib/places-layer.js";
import { addTiles } from "../lib/tiles.js";
import { STEPS, config, state } from "./state.js";

const L = window.L;
const PLACES_AGAIN_M = 3000;
const PLACES_RETRY_MS = 60000; // the places could not be read: not again at every fix

var map = null;
var layers = { me: null, accuracy: null, pickup: null, dropoff: null };
var followMe = true;
var places = { wanted: false, layer: null, around: null, loading: false, failedAt: 0, next: null };

/** The map, when Leaflet and its element are there (the page works without). */
export function startMap() {
  const mapEl = document.getElementById("d-map");
  if (!window.L || !mapEl) return null;
  map = L.map(mapEl, { zoomControl: false, attributionControl: true, maxZoom: 19 });
  map.attributionControl.setPrefix(false);
  L.control.zoom({ position: "topright" }).addTo(map);
  map.setView(config.center, 14);
  addTiles(map, config.tile_url, {
    attribution: config.tile_attribution,
    advice: "Nearby places are shown by name instead.",
    onUnavailable: function () {
      places.wanted = true;
      drawPlaces({ lat: config.center[0], lng: config.center[1] });
    },
  });
  map.on("dragstart", function () {
    followMe = false;
  });
  var resizing = null;
  window.addEventListener("resize", function () {
    window.clearTimeout(resizing);
    resizing = window.setTimeout(frame, 100); // a turned phone: the same points, framed anew
  });
  return map;
}

function pin(kind, letter, label) {
  return L.marker([0, 0], {
    icon: L.divIcon({
      className: "d-pin-icon",
      html: '<div class="d-pin d-pin-' + kind + '"><span>' + letter + "</span></div>",
      iconSize: [30, 30],
      iconAnchor: [15, 36],
    }),
    title: label,
    alt: label,
    keyboard: false,
  });
}

function place(name, factory, point, what) {
  if (!map) return;
  if (!point) {
    if (layers[name]) layers[name].remove();
    layers[name] = null;
    return;
  }
  if (!layers[name]) layers[name] = factory().addTo(map);
  layers[name].setLatLng([point.lat, point.lng]);
  // The pin says where it is, by name when the place has one.
  var title = point.label ? what + ": " + point.label : what;
  var icon = layers[name].getElement();
  if (icon && icon.title !== title) icon.title = title;
}

/** The places nearest to `centre`, instead of those drawn before. */
function drawPlaces(centre) {
  if (!map || !places.wanted) return;
  if (places.loading) {
    places.next = centre; // the driver's position came meanwhile: around it, once this is in
    return;
  }
  if (places.around && metresBetween(places.around, centre) < PLACES_AGAIN_M) return;
  if (Date.now() - places.failedAt < PLACES_RETRY_MS) return;
  places.loading = true;
  showPlaces(map, centre)
    .then(function (layer) {
      if (!layer) {
        places.failedAt = Date.now(); // not readable now: the map stays as it is for a while
        return;
      }
      if (places.layer) places.layer.remove();
      // Beneath the driver's own dot and the ride's pins.
      layer.eachLayer(function (point) {
        if (point.bringToBack) point.bringToBack();
      });
      places.layer = layer;
      places.around = centre;
    })
    .finally(function () {
      places.loading = false;
      var next = places.next;
      places.next = null;
      if (next) drawPlaces(next);
    });
}

export function showMe(fix) {
  if (!map) return;
  drawPlaces({ lat: fix.lat, lng: fix.lng });
  if (!layers.me) {
    layers.accuracy = L.circle([fix.lat, fix.lng], {
      radius: 1, stroke: false, fillColor: "#2563eb", fillOpacity: 0.12, interactive: false,
    }).addTo(map);
    layers.me = L.circleMarker([fix.lat, fix.lng], {
      radius: 8, color: "#ffffff", weight: 3, fillColor: "#2563eb", fillOpacity: 1, interactive: false,
    }).addTo(map);
  }
  layers.me.setLatLng([fix.lat, fix.lng]);
  layers.accuracy.setLatLng([fix.lat, fix.lng]);
  layers.accuracy.setRadius(Math.min(fix.accuracy_m || 0, 2000));
  if (!state.offer && !state.ride && followMe) map.setView([fix.lat, fix.lng], Math.max(map.getZoom(), 15));
}

var framedFor = null;
var framedPoints = [];

export function renderMap(viewChanged) {
  if (!map) return;
  if (viewChanged) {
    // The map's share of the screen depends on the view.
    window.setTimeout(function () {
      map.invalidateSize();
    }, 0);
  }
  var ride = state.ride;
  var offer = state.offer;
  var pickup = ride ? ride.pickup : offer ? offer.booking.pickup : null;
  var dropoff = ride ? ride.dropoff : offer ? offer.booking.dropoff : null;
  var target = null;
  if (ride) target = (STEPS[ride.status] || {}).target === "dropoff" ? dropoff : pickup;
  // On a trip, show where to go now; on an offer, the pickup and where the ride goes.
  if (ride && target === dropoff) pickup = null;
  place("pickup", function () {
    return pin("pickup", "P", "Pickup");
  }, pickup, "Pickup");
  place("dropoff", function () {
    return pin("dropoff", "D", "Drop-off");
  }, dropoff && (!ride || target === dropoff) ? dropoff : null, "Drop-off");
  var key = ride ? "ride:" + ride.id + ":" + ride.status : offer ? "offer:" + offer.id : "idle";
  if (key === framedFor) return;
  framedFor = key;
  var points = [];
  if (layers.me) points.push(layers.me.getLatLng());
  if (layers.pickup) points.push(layers.pickup.getLatLng());
  if (layers.dropoff) points.push(layers.dropoff.getLatLng());
  if (key === "idle") {
    followMe = true;
    if (layers.me) map.setView(layers.me.getLatLng(), Math.max(map.getZoom(), 15), { animate: false });
    return;
  }
  framedPoints = points;
  window.setTimeout(frame, 0);
}

/* Fit the offer's or the ride's points into the map; pins stand above their point. */
function frame() {
  map.invalidateSize();
  var points = framedPoints;
  if (!points.length || framedFor === "idle") return;
  if (points.length === 1) map.setView(points[0], 15, { animate: false });
  else map.fitBounds(L.latLngBounds(points), { paddingTopLeft: [36, 60], paddingBottomRight: [36, 24], maxZoom: 16, animate: false });
}
