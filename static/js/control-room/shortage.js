/* The "short of drivers here" layer: cells where more requests are expected in the coming hour
 * than the drivers available there now can take (/api/v1/analytics/outlook: the same hour of
 * week over past weeks against the live fleet). Asked again every minute while shown; on or
 * off is remembered in this browser. */

import { layerSection } from "./layers.js";
import { number } from "../lib/format.js";
import { requestJson } from "../lib/http.js";

const L = window.L;
const KEY = "hexfleet.shortage";
const EVERY_MS = 60_000;

let map = null;
let layer = null;
let toggle = null;
let note = null;
let timer = null;

function describe(cell) {
  return (
    "Short of drivers: about " + number(cell.expected, 1) + " requests expected in the next hour, " +
    number(cell.available) + (cell.available === 1 ? " driver" : " drivers") + " available here"
  );
}

function load() {
  requestJson("/api/v1/analytics/outlook")
    .then((answer) => {
      if (!answer.ok || !answer.body) throw new Error("outlook answered " + answer.status);
      const short = answer.body.cells.filter((c) => c.short);
      layer.clearLayers();
      short.forEach((cell) => {
        L.polygon(cell.outline, {
          className: "hf-short-cell",
          color: "#7c3aed",
          weight: 2,
          dashArray: "6 4",
          fillColor: "#7c3aed",
          fillOpacity: Math.min(0.45, 0.12 + cell.gap / 40),
        })
          .bindTooltip(describe(cell), { sticky: true, className: "hf-tooltip" })
          .addTo(layer);
      });
      note.textContent = answer.body.weeks_known
        ? short.length
          ? short.length + (short.length === 1 ? " cell" : " cells")
          : "enough drivers everywhere"
        : "no past weeks to learn from yet";
    })
    .catch((error) => {
      note.textContent = "outlook unavailable";
      if (window.console) console.warn("hexfleet: outlook:", error);
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

export function startShortage(theMap) {
  map = theMap;
  layer = L.layerGroup();
  const el = layerSection(map);
  el.innerHTML =
    '<label class="hf-toggle" title="More requests expected in the coming hour than the drivers here can take">' +
    '<input type="checkbox" id="shortage-toggle"> Short of drivers</label>' +
    '<span class="hf-short-note muted small" hidden></span>';
  toggle = el.querySelector("input");
  note = el.querySelector(".hf-short-note");
  toggle.addEventListener("change", () => setShown(toggle.checked));
  let wanted = false;
  try {
    wanted = window.localStorage.getItem(KEY) === "1";
  } catch (error) {
    wanted = false;
  }
  if (wanted) setShown(true);
}
