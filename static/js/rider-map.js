/* The rider pages' map (booking form, tracking link): Leaflet with the control room's pins. */

const L = window.L;

/** A map in `el`, tiles from options.tileUrl when set (else the plain background). */
export function makeMap(el, options) {
  const map = L.map(el, { zoomControl: false, attributionControl: true, worldCopyJump: true });
  L.control.zoom({ position: "topright" }).addTo(map);
  map.attributionControl.setPrefix(false);
  if (options.tileUrl) {
    // Tile errors (offline, blocked) are harmless: the container has its own background.
    L.tileLayer(options.tileUrl, { maxZoom: 19, attribution: options.tileAttribution || "", crossOrigin: true }).addTo(map);
  } else {
    el.classList.add("map-no-tiles");
  }
  if (options.center) map.setView(options.center, options.zoom || 14);
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
