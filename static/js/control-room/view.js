/* What part of the map the dispatcher actually sees: on a phone the bottom sheet covers its
 * lower part, on a desktop the detail card floats over its right edge. Things are centred in
 * what is left. */

const L = window.L;

/** How many pixels of the map the phone's bottom sheet covers. */
export function sheetOverlap(mapEl) {
  const panelEl = document.getElementById("panel");
  if (!panelEl || window.getComputedStyle(panelEl).position !== "absolute") return 0;
  return Math.max(0, mapEl.getBoundingClientRect().bottom - panelEl.getBoundingClientRect().top);
}

/** How many pixels of the map's right edge the desktop's detail card covers. */
function detailOverlap(mapEl) {
  const card = document.getElementById("driver-detail");
  const slot = document.getElementById("detail");
  if (!card || !slot || window.getComputedStyle(slot).position !== "absolute") return 0;
  const mapBox = mapEl.getBoundingClientRect();
  const box = slot.getBoundingClientRect();
  if (box.width === 0 || box.left >= mapBox.right) return 0;
  return Math.max(0, mapBox.right - box.left);
}

/** Pan so that `latlng` is in the middle of the part of the map that is not covered. */
export function panToVisible(map, latlng, options) {
  const mapEl = map.getContainer();
  const zoom = map.getZoom();
  const offset = L.point(detailOverlap(mapEl) / 2, sheetOverlap(mapEl) / 2);
  const point = map.project(latlng, zoom).add(offset);
  map.panTo(map.unproject(point, zoom), options || { animate: true });
}
