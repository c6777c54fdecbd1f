/* The zones layer: the active zones (service areas, airports, restricted and custom zones) in
 * their colours, under everything else on the map; hovering or tapping one names it and its
 * kind. Zones are drawn by admins at /admin/zones; this asks /api/v1/zones again every few
 * minutes while shown. On or off is remembered in this browser. */

import { layerSection } from "./layers.js";
import { requestJson } from "../lib/http.js";
import { largestFirst, zoneLayer } from "../lib/zone-shapes.js";

const L = window.L;
const KEY = "hexfleet.zones";
const EVERY_MS = 120_000;
const PANE = "hf-zones";
const KINDS = { service_area: "Service area", airport: "Airport", restricted: "Restricted zone", custom: "Zone" };

let map = null;
let layer = null;
let toggle = null;
let note = null;
let timer = null;

/** Name and kind, as text nodes: a string tooltip is put in as HTML, and a name may hold "<". */
function label(zone) {
  const box = document.createElement("span");
  box.className = "hf-zone-label";
  const name = document.createElement("strong");
  name.textContent = zone.name;
  const kind = document.createElement("span");
  kind.textContent = KINDS[zone.kind] || zone.kind;
  box.append(name, kind);
  if (typeof zone.inside === "number") {
    const inside = document.createElement("span");
    inside.textContent = zone.inside + (zone.inside === 1 ? " driver inside" : " drivers inside");
    box.append(inside);
  }
  return box;
}

function draw(zones) {
  layer.clearLayers();
  let shown = 0;
  for (const zone of largestFirst(zones)) {
    if (zone.active === false) continue;
    const color = zone.color || "#6a1b9a";
    const shape = zoneLayer(zone.geometry, {
      pane: PANE,
      className: "hf-zone hf-zone-" + zone.kind,
      color,
      weight: 2,
      opacity: 0.9,
      fillColor: color,
      fillOpacity: zone.kind === "service_area" ? 0.06 : 0.16,
      dashArray: zone.kind === "restricted" ? "6 4" : null,
    });
    if (!shape) continue;
    shape.bindTooltip(label(zone), { sticky: true, className: "hf-tooltip hf-zone-tooltip" });
    // A zone covers the map where the dispatcher clicks to pick a pickup (phone booking): the
    // click goes on to the map as if the zone were not there.
    shape.on("click", (event) => map.fire("click", { latlng: event.latlng, layerPoint: event.layerPoint, containerPoint: event.containerPoint, originalEvent: event.originalEvent }));
    shape.addTo(layer);
    shown++;
  }
  note.textContent = shown ? shown + (shown === 1 ? " zone" : " zones") : "no active zones yet";
}

function load() {
  requestJson("/api/v1/zones")
    .then((answer) => {
      if (!answer.ok || !answer.body) throw new Error("zones answered " + answer.status);
      const body = answer.body;
      draw(Array.isArray(body) ? body : body.zones || body.items || []);
    })
    .catch((error) => {
      note.textContent = "zones unavailable";
      if (window.console) console.warn("hexfleet: zones:", error);
    });
}

function setShown(on) {
  try {
    window.localStorage.setItem(KEY, on ? "1" : "0");
  } catch (error) {
    /* storage off: not remembered */
  }
  toggle.checked = on;
  note.hidden = !on;
  clearInterval(timer);
  timer = null;
  if (on) {
    layer.addTo(map);
    load();
    timer = setInterval(load, EVERY_MS);
  } else {
    layer.remove();
  }
}

export function startZones(theMap) {
  map = theMap;
  // Under the surge and shortage cells (overlayPane, 400) and the markers: zones are the
  // background a dispatcher reads the rest against.
  map.createPane(PANE).style.zIndex = "350";
  layer = L.layerGroup();
  const el = layerSection(map);
  el.innerHTML =
    '<label class="hf-toggle" title="Service areas, airports and restricted zones, in their colours">' +
    '<input type="checkbox" id="zones-toggle"> Zones</label>' +
    '<span class="hf-zones-note muted small" hidden></span>';
  toggle = el.querySelector("input");
  note = el.querySelector(".hf-zones-note");
  toggle.addEventListener("change", () => setShown(toggle.checked));
  let wanted = false;
  try {
    wanted = window.localStorage.getItem(KEY) === "1";
  } catch (error) {
    wanted = false;
  }
  if (wanted) setShown(true);
}
