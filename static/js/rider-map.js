/* The rider pages' map (booking form, tracking link): Leaflet with the control room's pins, and
 * tiles through lib/tiles.js (the credit once a tile loaded; a notice when none can be had). */

import { addTiles } from "./lib/tiles.js";

const L = window.L;

/**
 * A map in `el`. options: tileUrl, tileAttribution, center, zoom, advice (what the tiles notice
 * adds), onUnavailable(map, reason) (no tiles: "none" without MAP_TILE_URL, else "unreachable").
 */
export function makeMap(el, options) {
  const map = L.map(el, { zoomControl: false, attributionControl: true, worldCopyJump: true });
  L.control.zoom({ position: "topright" }).addTo(map);
  map.attributionControl.setPrefix(false);
  if (options.center) map.setView(options.center, options.zoom || 14);
  addTiles(map, options.tileUrl, {
    attribution: options.tileAttribution || "",
    advice: options.advice,
    onUnavailable: (reason) => {
      if (options.onUnavailable) options.onUnavailable(map, reason);
    },
  });
  return map;
}

/** The control room's A and B pins (app.css .hf-pin): the same look on every map. */
export function pinIcon(kind) {
  return L.divIcon({
    className: "hf-pin hf-pin-" + kind,
    html: "<span><b>" + (kind === "pickup" ? "A" : "B") + "</b></span>",
    iconSize: [28, 28],
    iconAnchor: [14, 34], // the tip of the pin (a square turned 45°: 14 × √2 below its centre)
    tooltipAnchor: [0, -28],
  });
}

/** The control room's driver marker (app.css .hf-marker), always "busy" for a rider. */
export function driverIcon() {
  return L.divIcon({
    className: "hf-marker status-busy hf-driver",
    html: '<span class="hf-marker-body"><span class="hf-nose"></span></span>',
    iconSize: [26, 26],
    iconAnchor: [13, 13],
  });
}
