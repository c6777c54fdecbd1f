/* The control room's map: Leaflet with zoom and scale, and the tiles (MAP_TILE_URL, through
 * lib/tiles.js: the credit once a tile loaded, a notice in #map-notice when they cannot be had). */

import { addTiles } from "../lib/tiles.js";

const L = window.L;

/** The map's settings from the page (#map's data attributes). */
export function readConfig(mapEl) {
  const d = mapEl.dataset;
  return {
    tileUrl: d.tileUrl || "",
    tileAttribution: d.tileAttribution || "",
    center: [parseFloat(d.centerLat) || 0, parseFloat(d.centerLng) || 0],
    staleAfterMs: (parseFloat(d.staleAfterS) || 60) * 1000,
  };
}

export function createMap(mapEl, config) {
  // maxZoom: the cluster group needs one even when there is no tile layer to give it.
  const map = L.map(mapEl, { zoomControl: false, attributionControl: true, worldCopyJump: true, maxZoom: 19 });
  L.control.zoom({ position: "topleft" }).addTo(map);
  L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
  map.attributionControl.setPrefix(false);
  addTiles(map, config.tileUrl, {
    attribution: config.tileAttribution,
    noticeHost: document.getElementById("map-notice"),
    advice: "Set MAP_TILE_URL to a tile server you can reach (see README).",
  });
  map.setView(config.center, 13);
  return map;
}
