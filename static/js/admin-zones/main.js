/* The zones editor (/admin/zones). Each job is a module of its own:
 *   map.js    the map, its drawing tools (Leaflet-Geoman) and geometry <-> layer
 *   list.js   the list of zones beside the map, and the empty state
 *   form.js   the side form: name, kind, colour, active, the kind's rules, errors
 *   api.js    the zones API, every answer as an outcome
 * This one keeps the records (one per zone on the map, saved or just drawn) and joins them.
 *
 * A record: {key, id (null until saved), zone (as last saved), values (name, kind, colour,
 * active: what the list and the map show), draft (the form), layer, reshaped, unsaved, problem}.
 *
 * For tests: window.hexfleetZones = {map, records()}.
 */

import { largestFirst } from "../lib/zone-shapes.js";
import * as api from "./api.js";
import { draftOf, setBusy, showErrors, showRecord, showShape, startForm, zoneOf } from "./form.js";
import { renderList, startList } from "./list.js";
import { createEditorMap, describeShape, geometryOf, layerFor, styleFor } from "./map.js";

const root = document.querySelector("[data-zones-editor]");
const status = document.getElementById("zones-status");
let editor = null;
let records = [];
let selected = null;
let nextKey = 1;

function say(text, kind = "info") {
  status.textContent = text;
  status.dataset.kind = kind;
}

/** A message with a list under it (an import's problems, first ones first). */
function sayList(text, fields, most = 10) {
  say(text, "error");
  const entries = Object.entries(fields);
  if (!entries.length) return;
  const list = document.createElement("ul");
  for (const [where, what] of entries.slice(0, most)) {
    const li = document.createElement("li");
    li.textContent = where + ": " + what;
    list.append(li);
  }
  if (entries.length > most) {
    const li = document.createElement("li");
    li.textContent = "and " + (entries.length - most) + " more";
    list.append(li);
  }
  status.append(list);
}

function config() {
  let currencies = {};
  try {
    currencies = JSON.parse(root.dataset.currencies || "{}");
  } catch (error) {
    currencies = {};
  }
  return { tileUrl: root.dataset.tileUrl || "", attribution: root.dataset.attribution || "", currencies };
}

function savedZones() {
  return records.filter((r) => r.id != null).map((r) => ({ id: r.id, name: r.zone.name }));
}

function summary(draft) {
  return { name: draft.name, kind: draft.kind, color: draft.color, active: draft.active };
}

function refreshUnsaved(record) {
  const pristine = record.zone ? JSON.stringify(draftOf(record.zone)) : null;
  record.unsaved = record.id == null || record.reshaped || JSON.stringify(record.draft) !== pristine;
}

function restyle(record) {
  record.layer.setStyle(styleFor(record.values, record === selected));
  const name = record.values.name || (record.id == null ? "New zone" : "Unnamed zone");
  if (record.layer.getTooltip()) record.layer.setTooltipContent(textNode(name));
  else record.layer.bindTooltip(textNode(name), { sticky: true, className: "zone-tooltip" });
}

function textNode(text) {
  // Leaflet puts a string tooltip in as HTML: a name may hold "<".
  const span = document.createElement("span");
  span.textContent = text;
  return span;
}

function render() {
  renderList(records, selected);
}

function setEditing(record, on) {
  if (!record || !record.layer.pm) return;
  // While a map-wide mode is on (edit, drag, remove, cut), Geoman owns every layer's handles.
  const map = editor.map;
  if (map.pm.globalEditModeEnabled() || map.pm.globalDragModeEnabled() || map.pm.globalRemovalModeEnabled()) return;
  if (on) record.layer.pm.enable({ draggable: true, allowSelfIntersection: true });
  else record.layer.pm.disable();
}

function select(record, { focus = false } = {}) {
  const before = selected;
  if (before && before !== record) {
    setEditing(before, false);
    selected = record;
    restyle(before);
  }
  selected = record;
  if (record) {
    restyle(record);
    record.layer.bringToFront();
    setEditing(record, true);
    if (focus) editor.focus([record.layer]);
  }
  showRecord(record, savedZones(), record ? describeShape(record.layer) : "");
  render();
}

function addRecord(zone, layer) {
  const record = {
    key: String(nextKey++),
    id: zone ? zone.id : null,
    zone,
    layer,
    draft: draftOf(zone || {}),
    reshaped: false,
    unsaved: !zone,
    problem: null,
  };
  record.values = summary(record.draft);
  records.push(record);
  restyle(record);
  return record;
}

function recordOf(layer) {
  return records.find((r) => r.layer === layer) || null;
}

function forget(record) {
  records = records.filter((r) => r !== record);
  if (selected === record) select(null);
  else render();
}

/* ------------------------------------------------------------------ map events */

const onMap = {
  created(layer) {
    const record = addRecord(null, layer);
    select(record);
    say("Drawn. Name the zone and choose its kind, then save it.");
    document.getElementById("zone-name").focus();
  },
  clicked(layer) {
    const record = recordOf(layer);
    if (record && record !== selected && !editor.map.pm.globalRemovalModeEnabled()) select(record);
  },
  changed(layer) {
    const record = recordOf(layer);
    if (!record) return;
    record.reshaped = true;
    refreshUnsaved(record);
    if (record === selected) showShape(describeShape(layer));
    render();
  },
  replaced(oldLayer, newLayer) {
    // The cut tool swaps the layer for a new one with the hole.
    const record = recordOf(oldLayer);
    if (!record) return;
    record.layer = newLayer;
    record.reshaped = true;
    refreshUnsaved(record);
    restyle(record);
    if (record === selected) showShape(describeShape(newLayer));
    render();
  },
  async removed(layer) {
    const record = recordOf(layer);
    if (!record) return;
    if (record.id == null) {
      forget(record);
      say("Drawing discarded.");
      return;
    }
    // The removal tool took it off the map: put it back unless the admin means it.
    if (!(await remove(record))) {
      layer.addTo(editor.map);
      restyle(record);
    }
  },
};

/* ------------------------------------------------------------------ form actions */

async function save(record) {
  const checked = zoneOf(record.draft);
  if (checked.errors) {
    record.problem = { message: "Some fields need a look before this zone can be saved.", fields: checked.errors };
    showErrors(record.problem.message, record.problem.fields);
    return;
  }
  const body = { ...checked.zone, geometry: geometryOf(record.layer) };
  setBusy(true);
  say("Saving " + (body.name || "the zone") + "…");
  const outcome = record.id == null ? await api.createZone(body) : await api.updateZone(record.id, body);
  setBusy(false);
  if (!outcome.ok) {
    record.problem = { message: outcome.message, fields: outcome.fields };
    if (record === selected) showErrors(outcome.message, outcome.fields);
    say("Not saved: " + outcome.message, "error");
    return;
  }
  const id = record.id != null ? record.id : outcome.body && outcome.body.id;
  // Read it back: the server's normalised zone (closed rings, its default colour) is the truth.
  const fresh = await api.getZone(id);
  const zone = fresh.ok && fresh.body ? fresh.body : { ...body, id };
  record.id = zone.id;
  record.zone = zone;
  record.draft = draftOf(zone);
  record.values = summary(record.draft);
  record.reshaped = false;
  record.unsaved = false;
  record.problem = null;
  say("Saved " + zone.name + ".", "ok");
  select(record);
}

function discard(record) {
  if (record.id == null) {
    record.layer.remove();
    forget(record);
    say("Drawing discarded.");
    return;
  }
  if (record.reshaped) {
    setEditing(record, false);
    record.layer.remove();
    const layer = layerFor(record.zone.geometry);
    record.layer = layer;
    editor.add(layer);
  }
  record.draft = draftOf(record.zone);
  record.values = summary(record.draft);
  record.reshaped = false;
  record.unsaved = false;
  record.problem = null;
  select(record);
  say("Changes to " + record.zone.name + " discarded.");
}

/** Delete a saved zone after asking; true when it is gone. */
async function remove(record) {
  const name = record.zone.name;
  if (!window.confirm("Delete the zone “" + name + "”? Rides and drivers stop being judged by it at once.")) return false;
  const outcome = await api.deleteZone(record.id);
  if (!outcome.ok && outcome.status !== 404) {
    say("Not deleted: " + outcome.message, "error");
    return false;
  }
  setEditing(record, false);
  record.layer.remove();
  forget(record);
  say("Deleted " + name + ".", "ok");
  return true;
}

/* ------------------------------------------------------------------ loading and files */

async function load({ fit = true } = {}) {
  const outcome = await api.listZones();
  document.getElementById("zones-loading").hidden = true;
  if (!outcome.ok) {
    say(outcome.message, "error");
    return;
  }
  for (const record of records.filter((r) => r.id != null)) {
    setEditing(record, false);
    record.layer.remove();
  }
  const drafts = records.filter((r) => r.id == null);
  records = [...drafts];
  let unreadable = 0;
  // The larger first, so a small zone inside a large one stays on top, where a click finds it.
  for (const zone of largestFirst(outcome.zones)) {
    const layer = layerFor(zone.geometry);
    if (!layer) {
      unreadable++;
      continue;
    }
    editor.add(layer);
    addRecord(zone, layer);
  }
  if (unreadable) say(unreadable + " zones have a shape this page cannot draw; see them in the export.", "error");
  selected = null;
  select(drafts[0] || null);
  if (fit && records.length) editor.focus(records.map((r) => r.layer));
  else if (!records.length) showRecord(null, [], "");
}

async function importFile(input) {
  const file = input.files && input.files[0];
  input.value = "";
  if (!file) return;
  let collection;
  try {
    collection = JSON.parse(await file.text());
  } catch (error) {
    say(file.name + " is not JSON: choose a GeoJSON FeatureCollection.", "error");
    return;
  }
  say("Importing " + file.name + "…");
  const outcome = await api.importZones(collection);
  if (!outcome.ok) {
    sayList("Nothing was imported from " + file.name + ". " + outcome.message, outcome.fields);
    return;
  }
  const b = outcome.body || {};
  say(
    "Imported " + file.name + ": " + b.total + (b.total === 1 ? " zone" : " zones") + ", " +
      b.added + " added, " + b.updated + " updated, " + b.unchanged + " unchanged.",
    "ok",
  );
  await load();
}

function start() {
  const settings = config();
  editor = createEditorMap(document.getElementById("zones-map"), settings, onMap);
  startList({ pick: (record) => select(record, { focus: true }) });
  startForm(settings, {
    input(record) {
      record.values = summary(record.draft);
      refreshUnsaved(record);
      restyle(record);
      render();
    },
    save,
    discard,
    remove,
  });
  document.getElementById("zones-file").addEventListener("change", (event) => importFile(event.target));
  // Leaving with drawings or changes not saved: the browser asks first.
  window.addEventListener("beforeunload", (event) => {
    if (records.some((r) => r.unsaved)) event.preventDefault();
  });
  window.hexfleetZones = { map: editor.map, records: () => records };
  load();
}

if (root && window.L && window.L.PM) start();
else if (root) say("The map could not start: reload the page.", "error");
