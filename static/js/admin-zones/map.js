/* The editor's map and its drawing tools (Leaflet-Geoman free, vendored): a zone's geometry as
 * a Leaflet layer and back, the layer's look by the zone's colour, and the map's drawing events
 * handed to the page as plain callbacks.
 *
 * Geometries as the zones API has them (GeoJSON positions are [lng, lat]):
 *   Polygon / MultiPolygon, holes included  <->  L.Polygon (Geoman's cut tool makes the holes)
 *   {"type": "Circle", "center": [lng, lat], "radius_m": r}  <->  L.Circle
 * A drawn rectangle is a polygon. Whether a shape is valid (self-intersections, too many
 * vertices, a circle too large) the server judges, and its 422 says where.
 */

import { addTiles } from "../lib/tiles.js";
import { showPlaces } from "../lib/places-layer.js";
import { zoneLayer } from "../lib/zone-shapes.js";

const L = window.L;
const DIGITS = 7; // about 1 cm: finer than any boundary is known
const SELECTED_WEIGHT = 4;

/** A zone's geometry as a Leaflet layer (not yet on the map); null for a geometry we cannot draw. */
export function layerFor(geometry) {
  return zoneLayer(geometry);
}

function round(value, digits) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** The layer's geometry for the API. */
export function geometryOf(layer) {
  if (layer instanceof L.Circle) {
    const centre = layer.getLatLng();
    return { type: "Circle", center: [round(centre.lng, DIGITS), round(centre.lat, DIGITS)], radius_m: round(layer.getRadius(), 1) };
  }
  return layer.toGeoJSON(DIGITS).geometry;
}

/** "Circle, 1.2 km across" / "Polygon, 6 corners, 1 hole": what the form says of the shape. */
export function describeShape(layer) {
  if (layer instanceof L.Circle) {
    const r = layer.getRadius();
    const across = r >= 500 ? (r / 1000).toLocaleString(undefined, { maximumFractionDigits: 2 }) + " km" : Math.round(r) + " m";
    return "Circle, radius " + across;
  }
  const geometry = geometryOf(layer);
  const polygons = geometry.type === "MultiPolygon" ? geometry.coordinates : [geometry.coordinates];
  const corners = polygons.reduce((n, rings) => n + rings[0].length - 1, 0);
  const holes = polygons.reduce((n, rings) => n + rings.length - 1, 0);
  const parts = [polygons.length > 1 ? polygons.length + " polygons" : "Polygon", corners + " corners"];
  if (holes) parts.push(holes + (holes === 1 ? " hole" : " holes"));
  return parts.join(", ");
}

/** How a zone looks: its colour; an inactive zone dashed and faint; the selected one bolder. */
export function styleFor(values, selected) {
  const color = values.color || "#6a1b9a";
  return {
    color,
    fillColor: color,
    weight: selected ? SELECTED_WEIGHT : 2,
    opacity: values.active ? 0.95 : 0.7,
    fillOpacity: values.active ? (selected ? 0.28 : 0.18) : 0.06,
    dashArray: values.active ? null : "6 6",
  };
}

function centreOf(el) {
  const parts = (el.dataset.center || "52.52,13.405").split(",").map(Number);
  return parts.length === 2 && parts.every(Number.isFinite) ? parts : [52.52, 13.405];
}

/**
 * The map with its tools. `on`: {created(layer), removed(layer), replaced(oldLayer, newLayer),
 * changed(layer), clicked(layer)}. Returns {map, add(layer), focus(layers)}.
 */
export function createEditorMap(el, config, on) {
  const map = L.map(el, { attributionControl: Boolean(config.tileUrl), zoomControl: true });
  const centre = centreOf(el);
  map.setView(centre, 11);
  addTiles(map, config.tileUrl, {
    attribution: config.attribution,
    advice: "Places are shown by name instead.",
    onUnavailable: () => showPlaces(map, { lat: centre[0], lng: centre[1] }),
  });

  map.pm.setLang("en");
  map.pm.addControls({
    position: "topleft",
    drawMarker: false,
    drawCircleMarker: false,
    drawPolyline: false,
    drawText: false,
    rotateMode: false,
    drawPolygon: true,
    drawRectangle: true,
    drawCircle: true,
    cutPolygon: true, // holes
    editMode: true,
    dragMode: true,
    removalMode: true,
  });
  // Geoman titles its buttons' boxes: name the buttons themselves for screen readers.
  for (const box of el.querySelectorAll(".leaflet-pm-toolbar .button-container[title]")) {
    const button = box.querySelector(".leaflet-buttons-control-button");
    if (button) button.setAttribute("aria-label", box.getAttribute("title"));
  }
  // One shape per click on a tool: the form opens for it at once.
  map.pm.setGlobalOptions({ continueDrawing: false, snappable: true, snapDistance: 15 });

  map.on("pm:create", (event) => {
    watch(event.layer);
    on.created(event.layer);
  });
  map.on("pm:remove", (event) => on.removed(event.layer));
  map.on("pm:cut", (event) => {
    watch(event.layer);
    on.replaced(event.originalLayer, event.layer);
  });

  function watch(layer) {
    // pm:edit follows every change: a vertex moved, added or removed, a drag, a circle resized.
    layer.on("pm:edit", () => on.changed(layer));
    layer.on("click", () => on.clicked(layer));
  }

  return {
    map,
    add(layer) {
      watch(layer);
      layer.addTo(map);
    },
    /** Show these layers (all zones, or one): fit them in view. */
    focus(layers) {
      const bounds = L.latLngBounds([]);
      for (const layer of layers) bounds.extend(layer.getBounds());
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15 });
    },
  };
}
