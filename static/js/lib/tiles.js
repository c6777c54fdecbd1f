/* Map tiles (MAP_TILE_URL) on every map, and what a map does without them.
 *
 * The tiles' credit is shown once a tile has loaded, not before: a map whose tiles never came
 * should not credit a picture it does not show. When tiles cannot be had (MAP_TILE_URL empty,
 * offline, blocked, a wrong URL: a few failures and no success), the map says so once, in a
 * notice the viewer can dismiss, placed as a Leaflet control so it never covers the map's own
 * controls, and onUnavailable() lets the page draw what it knows instead (places by name).
 */

const L = window.L;
const ERRORS_BEFORE_NOTICE = 4;

/** The host tiles come from, for the notice ("tile.openstreetmap.org"). */
export function tileHost(url) {
  try {
    return new URL(url.replace("{s}.", "").replace(/\{[^}]*\}/g, "0"), window.location.href).host;
  } catch (error) {
    return url;
  }
}

/** A dismissible notice: into `host` when the page has a place for it, else as a map control. */
function showNotice(map, text, host) {
  const box = document.createElement("div");
  box.className = "map-tiles-notice";
  box.setAttribute("role", "status");
  const words = document.createElement("p");
  words.textContent = text;
  const close = document.createElement("button");
  close.type = "button";
  close.className = "btn-icon map-notice-close";
  close.setAttribute("aria-label", "Dismiss the map tiles notice");
  close.textContent = "\u00d7";
  box.append(words, close);
  if (host) {
    host.replaceChildren(box);
    close.addEventListener("click", () => host.replaceChildren());
    return;
  }
  const control = L.control({ position: "bottomleft" });
  control.onAdd = () => {
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  close.addEventListener("click", () => control.remove());
  control.addTo(map);
}

/**
 * Tiles from `url` on `map`. options: attribution (HTML, credited once a tile loaded),
 * noticeHost (an element for the notice; default: a map control), advice (what the notice
 * adds after "Map tiles can't be loaded from HOST."), onUnavailable(reason)
 * ("none": no MAP_TILE_URL; "unreachable": tiles failed). Returns the tile layer, or null.
 */
export function addTiles(
  map,
  url,
  { attribution = "", noticeHost = null, advice = "Places are shown by name instead.", onUnavailable = () => {} } = {},
) {
  if (!url) {
    map.getContainer().classList.add("map-no-tiles");
    // After this returns, like the "unreachable" case: the caller has its map and layer by then.
    queueMicrotask(() => onUnavailable("none"));
    return null;
  }
  const layer = L.tileLayer(url, { maxZoom: 19, crossOrigin: true });
  let loaded = false;
  let errors = 0;
  let failed = false;
  layer.on("tileload", () => {
    if (loaded) return;
    loaded = true;
    if (attribution && map.attributionControl) map.attributionControl.addAttribution(attribution);
  });
  layer.on("tileerror", () => {
    errors++;
    if (loaded || failed || errors < ERRORS_BEFORE_NOTICE) return;
    failed = true;
    map.getContainer().classList.add("map-no-tiles");
    showNotice(map, "Map tiles can't be loaded from " + tileHost(url) + ". " + advice, noticeHost);
    onUnavailable("unreachable");
  });
  layer.addTo(map);
  return layer;
}
