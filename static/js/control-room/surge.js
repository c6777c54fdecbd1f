/* The surge layer: H3 cells where prices are up (/api/v1/surge), live from
 * /api/v1/stream/surge while shown, with its legend. On or off is remembered in this browser. */

import { layerSection } from "./layers.js";
import { requestJson } from "../lib/http.js";
import { openStream } from "../lib/stream.js";

const L = window.L;
const KEY = "hexfleet.surge";

let map = null;
let layer = null;
let stream = null;
let toggle = null;
let legend = null;
let count = null;

function colour(m) {
  if (m >= 2.5) return "#b91c1c";
  if (m >= 2.0) return "#ea580c";
  if (m >= 1.5) return "#f59e0b";
  return "#facc15";
}

function loadSurge() {
  requestJson("/api/v1/surge")
    .then((answer) => {
      if (!answer.ok || !answer.body) throw new Error("surge answered " + answer.status);
      const cells = answer.body.cells || [];
      layer.clearLayers();
      cells.forEach((cell) => {
        L.polygon(cell.boundary, {
          className: "hf-surge-cell",
          color: colour(cell.multiplier),
          fillColor: colour(cell.multiplier),
          fillOpacity: 0.28,
          weight: 1,
          interactive: true,
        })
          .bindTooltip("Surge ×" + cell.multiplier.toFixed(1), { sticky: true, className: "hf-tooltip" })
          .addTo(layer);
      });
      count.textContent = cells.length ? cells.length + " cells" : "no surge now";
    })
    .catch((error) => {
      if (window.console) console.warn("hexfleet: surge:", error);
    });
}

function setSurge(on) {
  try {
    window.localStorage.setItem(KEY, on ? "1" : "0");
  } catch (error) {
    /* storage off: not remembered */
  }
  toggle.checked = on;
  legend.hidden = !on;
  if (on) {
    layer.addTo(map);
    loadSurge();
    stream = openStream("/api/v1/stream/surge", {
      events: { surge: loadSurge },
      onOpen: (recovered) => recovered && loadSurge(), // changes missed while away
    });
  } else {
    layer.remove();
    if (stream) stream.close();
    stream = null;
  }
}

export function startSurge(theMap) {
  map = theMap;
  layer = L.layerGroup();
  const el = layerSection(map);
  el.innerHTML =
    '<label class="hf-toggle"><input type="checkbox" id="surge-toggle"> Surge</label>' +
    '<div class="hf-surge-legend" hidden><span><i class="s1"></i>×1.1–1.4</span><span><i class="s2"></i>×1.5–1.9</span>' +
    '<span><i class="s3"></i>×2.0–2.4</span><span><i class="s4"></i>×2.5+</span><span class="hf-surge-count muted"></span></div>';
  toggle = el.querySelector("input");
  legend = el.querySelector(".hf-surge-legend");
  count = el.querySelector(".hf-surge-count");
  toggle.addEventListener("change", () => setSurge(toggle.checked));
  let wanted = false;
  try {
    wanted = window.localStorage.getItem(KEY) === "1";
  } catch (error) {
    wanted = false;
  }
  if (wanted) setSurge(true);
}
