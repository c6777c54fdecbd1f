/* A zone's geometry (as the zones API has it) on a Leaflet map, for the zones editor and the
 * control room's Zones layer alike. GeoJSON positions are [lng, lat]; a circle is
 * {"type": "Circle", "center": [lng, lat], "radius_m": r}. */

const L = window.L;

/** The geometry as a Leaflet layer (not yet on a map), or null for one we cannot draw. */
export function zoneLayer(geometry, options = {}) {
  if (!geometry || typeof geometry !== "object") return null;
  if (geometry.type === "Circle" && Array.isArray(geometry.center)) {
    return L.circle([geometry.center[1], geometry.center[0]], { ...options, radius: geometry.radius_m });
  }
  if (geometry.type === "Polygon") return L.polygon(L.GeoJSON.coordsToLatLngs(geometry.coordinates, 1), options);
  if (geometry.type === "MultiPolygon") return L.polygon(L.GeoJSON.coordsToLatLngs(geometry.coordinates, 2), options);
  return null;
}

/** Roughly how much of the map a zone covers (square degrees): drawn largest first, a small
 * zone inside a large one (a taxi rank in a service area) stays on top, where the pointer finds it. */
export function spread(geometry) {
  if (!geometry) return 0;
  if (geometry.type === "Circle") return (geometry.radius_m / 111_000) ** 2 * 4;
  const positions = geometry.type === "MultiPolygon" ? (geometry.coordinates || []).flat(2) : (geometry.coordinates || []).flat(1);
  if (!positions.length) return 0;
  const lngs = positions.map((p) => p[0]);
  const lats = positions.map((p) => p[1]);
  return (Math.max(...lngs) - Math.min(...lngs)) * (Math.max(...lats) - Math.min(...lats));
}

/** Zones, largest first. */
export function largestFirst(zones) {
  return [...zones].sort((a, b) => spread(b.geometry) - spread(a.geometry));
}
