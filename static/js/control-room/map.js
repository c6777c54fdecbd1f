/* The control room's map: Leaflet with zoom and scale, and the tiles (MAP_TILE_URL, through
 * lib/tiles.js: the credit once a tile loaded, a dismissible notice when they cannot be had, and
 * then the operator's places drawn as labelled points, lib/places-layer.js, so the dispatcher
 * still finds their way by name).
 *
 * The notice is a strip across the top of the map that moves the map's top controls down while it
 * shows, so it never covers them, on a desktop or a phone. */

import { showPlaces } from "../lib/places-layer.js";
import { addTiles } from "../lib/tiles.js";

const L = window.L;
const PLACES_AGAIN_M = 3000;

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

/** Where the tiles notice goes: a strip across the top of the map, empty (and so invisible) until
 * there is one; the map's top controls move down by its height while it shows. */
function noticeHost(map) {
  const mapEl = map.getContainer();
  const host = L.DomUtil.create("div", "map-notice-host", mapEl);
  host.id = "map-notice";
  L.DomEvent.disableClickPropagation(host);
  L.DomEvent.disableScrollPropagation(host);
  const follow = () => mapEl.style.setProperty("--map-notice-h", host.offsetHeight + "px");
  if (window.ResizeObserver) new ResizeObserver(follow).observe(host);
  return host;
}

export function createMap(mapEl, config) {
  // maxZoom: the cluster group needs one even when there is no tile layer to give it.
  const map = L.map(mapEl, { zoomControl: false, attributionControl: true, worldCopyJump: true, maxZoom: 19 });
  L.control.zoom({ position: "topleft" }).addTo(map);
  L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
  map.attributionControl.setPrefix(false);
  map.setView(config.center, 13);
  let drawing = false;
  addTiles(map, config.tileUrl, {
    attribution: config.tileAttribution,
    noticeHost: noticeHost(map),
    advice: "Set MAP_TILE_URL to a tile server you can reach (see README). Places are shown by name meanwhile.",
    onUnavailable: () => {
      if (drawing) return;
      drawing = true;
      followPlaces(map);
    },
  });
  return map;
}

/** Without tiles: the places near what the map shows, drawn again once it has moved well away. */
function followPlaces(map) {
  let layer = null;
  let drawnAt = null;
  let asked = 0;
  const draw = () => {
    const centre = map.getCenter();
    if (drawnAt && map.distance(drawnAt, centre) < PLACES_AGAIN_M) return;
    drawnAt = centre;
    const ask = ++asked;
    showPlaces(map, { lat: centre.lat, lng: centre.lng }).then((drawn) => {
      if (ask !== asked) {
        if (drawn) drawn.remove(); // a later move asked again meanwhile: its places count
        return;
      }
      if (layer) layer.remove();
      layer = drawn;
    });
  };
  draw();
  map.on("moveend", draw);
}
