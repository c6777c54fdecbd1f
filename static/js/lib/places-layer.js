/* The operator's places as labelled points: what a map shows when it has no tiles, so a rider
 * or a dispatcher can still find their way by name (GET /api/v1/places, nearest to the map's
 * centre; signed-in viewers and signed-in drivers only: an anonymous tracking-link holder gets no layer). */

import { requestJson } from "./http.js";

const L = window.L;
const LIMIT = 50;

/** Draw the places nearest to `centre` ({lat, lng}) on `map`; resolves the layer, or null when
 * the places cannot be read (not signed in, or the server is away: the map stays as it is). */
export async function showPlaces(map, centre) {
  let answer;
  try {
    answer = await requestJson("/api/v1/places?limit=" + LIMIT + "&near=" + centre.lat.toFixed(5) + "," + centre.lng.toFixed(5));
  } catch (error) {
    return null;
  }
  if (!answer.ok || !answer.body) return null;
  const layer = L.layerGroup();
  for (const place of answer.body.results || []) {
    if (place.source === "geocoder") continue;
    // The name as text: Leaflet puts a string tooltip in as HTML, and a name may hold "<".
    const name = document.createElement("span");
    name.textContent = place.name;
    L.circleMarker([place.lat, place.lng], { radius: 5, weight: 2, className: "place-point" })
      .bindTooltip(name, { permanent: true, direction: "right", className: "place-point-label" })
      .addTo(layer);
  }
  layer.addTo(map);
  return layer;
}
