/* The control room's map: Leaflet with zoom and scale, and the tiles (MAP_TILE_URL). When
 * tiles cannot be loaded (offline, blocked, a wrong URL) the grid background stays and, after
 * a few failures with no success, a notice says why, once. */

const L = window.L;
const TILE_ERRORS_BEFORE_NOTICE = 4;

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
  if (config.tileUrl) addTiles(map, config);
  else mapEl.classList.add("map-no-tiles");
  map.setView(config.center, 13);
  return map;
}

function addTiles(map, config) {
  const tiles = L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution, crossOrigin: true });
  let errors = 0;
  let loaded = false;
  let noticeShown = false;
  tiles.on("tileload", () => {
    loaded = true;
  });
  tiles.on("tileerror", () => {
    errors++;
    if (loaded || noticeShown || errors < TILE_ERRORS_BEFORE_NOTICE) return;
    noticeShown = true;
    showTileNotice(tileHost(config.tileUrl));
  });
  tiles.addTo(map);
}

function tileHost(tileUrl) {
  try {
    return new URL(tileUrl.replace("{s}.", "").replace(/\{[^}]*\}/g, "0"), window.location.href).host;
  } catch (error) {
    return tileUrl;
  }
}

function showTileNotice(host) {
  const noticeEl = document.getElementById("map-notice");
  if (!noticeEl) return;
  noticeEl.innerHTML = "";
  const text = document.createElement("p");
  text.textContent = "Map tiles can't be loaded from " + host + ". Set MAP_TILE_URL to a tile server you can reach (see README).";
  const close = document.createElement("button");
  close.type = "button";
  close.className = "btn-icon map-notice-close";
  close.setAttribute("aria-label", "Dismiss the map tiles notice");
  close.textContent = "\u00d7";
  close.addEventListener("click", () => {
    noticeEl.innerHTML = "";
  });
  noticeEl.appendChild(text);
  noticeEl.appendChild(close);
}
