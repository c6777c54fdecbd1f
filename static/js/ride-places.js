/* The booking form's places (/ride): the operator's places drawn on a map without tiles, so a
 * rider can still choose by name, and a place's name shown with its coordinates a tap away.
 */

import { showPlaces } from "./lib/places-layer.js";

const L = window.L;
const REFRESH_DELAY_MS = 400;

/** "52.52000, 13.40500" */
export function coordsText(lat, lng) {
  return lat.toFixed(5) + ", " + lng.toFixed(5);
}

/**
 * A name with its coordinates on hover (title) and on a tap (a <details>), as the rides list and
 * the tracking page show them (templates/_rider_place.html); the coordinates alone without a name.
 */
export function placeElement(label, lat, lng) {
  const coords = coordsText(lat, lng);
  if (!label) {
    const plain = document.createElement("span");
    plain.className = "rd-where rd-where-plain";
    plain.textContent = coords;
    return plain;
  }
  const details = document.createElement("details");
  details.className = "rd-where";
  const summary = document.createElement("summary");
  summary.className = "rd-where-name";
  summary.title = coords;
  summary.textContent = label;
  const more = document.createElement("span");
  more.className = "rd-where-coords";
  more.textContent = coords;
  details.append(summary, more);
  return details;
}

/**
 * Draw the places nearest the map's centre as labelled points, again after the map moved on,
 * and call onChoose({name, lat, lng}) when the rider taps one (its dot or its name). Returns
 * {layer()}: the layer shown now, or null.
 */
export function followPlaces(map, onChoose) {
  let layer = null;
  let seq = 0;
  let timer = null;
  let drawnAt = null;

  function choose(marker, event) {
    if (event) L.DomEvent.stop(event); // the map's own tap would set a bare coordinate too
    const at = marker.getLatLng();
    const content = marker.getTooltip().getContent(); // lib/places-layer.js: the name as a text element
    onChoose({ name: typeof content === "string" ? content : content.textContent, lat: at.lat, lng: at.lng });
  }

  function wire(marker) {
    marker.on("click", (event) => choose(marker, event));
    // The name beside the dot is a target too: it is what a rider looks at.
    const label = marker.getTooltip() && marker.getTooltip().getElement();
    if (label) {
      label.classList.add("is-choosable");
      L.DomEvent.on(label, "click", (event) => {
        L.DomEvent.stop(event);
        choose(marker);
      });
    }
  }

  async function draw() {
    const mine = ++seq;
    const centre = map.getCenter();
    const drawn = await showPlaces(map, { lat: centre.lat, lng: centre.lng });
    if (!drawn) return; // not reachable now: the next move tries again
    if (mine !== seq) {
      drawn.remove(); // a newer drawing is on its way
      return;
    }
    if (layer) layer.remove();
    layer = drawn;
    drawnAt = centre;
    layer.eachLayer(wire);
  }

  map.on("moveend", () => {
    // A small pan keeps what is drawn; moving on by a third of the view draws the places there.
    const size = map.getSize();
    const moved = drawnAt ? map.latLngToContainerPoint(drawnAt).distanceTo(size.divideBy(2)) : Infinity;
    if (moved < Math.min(size.x, size.y) / 3) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(draw, REFRESH_DELAY_MS);
  });
  draw();
  return { layer: () => layer };
}
