/* The list of zones beside the map: each in its colour, with its kind, whether it is active,
 * and whether it has changes not saved yet; a click selects it (and shows it on the map). The
 * empty state says how to make the first zone. */

export const KIND_LABELS = { service_area: "Service area", airport: "Airport", restricted: "Restricted", custom: "Custom" };

let listEl = null;
let emptyEl = null;
let countEl = null;
let onPick = () => {};

export function startList({ pick }) {
  listEl = document.getElementById("zones-list");
  emptyEl = document.getElementById("zones-empty");
  countEl = document.getElementById("zones-count");
  onPick = pick;
}

function item(record, selected) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "zone-item" + (selected ? " is-selected" : "") + (record.values.active ? "" : " is-inactive");
  button.dataset.zoneKey = record.key;
  if (record.id != null) button.dataset.zoneId = record.id;
  if (selected) button.setAttribute("aria-current", "true");
  const swatch = document.createElement("span");
  swatch.className = "zone-swatch";
  // A colour is data, not style: set through the CSSOM (the CSP forbids style attributes).
  swatch.style.backgroundColor = record.values.color;
  const name = document.createElement("span");
  name.className = "zone-item-name";
  name.textContent = record.values.name || (record.id == null ? "New zone" : "Unnamed zone");
  const facts = document.createElement("span");
  facts.className = "zone-item-facts muted";
  const bits = [KIND_LABELS[record.values.kind] || record.values.kind];
  if (!record.values.active) bits.push("inactive");
  facts.textContent = bits.join(" · ");
  button.append(swatch, name, facts);
  if (record.unsaved) {
    const badge = document.createElement("span");
    badge.className = "badge zone-unsaved";
    badge.textContent = record.id == null ? "not saved" : "unsaved changes";
    button.append(badge);
  }
  button.addEventListener("click", () => onPick(record));
  li.append(button);
  return li;
}

/** Draw the list again: records in order, `selected` marked. */
export function renderList(records, selected) {
  const sorted = [...records].sort((a, b) => {
    if ((a.id == null) !== (b.id == null)) return a.id == null ? -1 : 1; // new drawings first
    return (a.values.name || "").localeCompare(b.values.name || "", undefined, { sensitivity: "base" });
  });
  listEl.replaceChildren(...sorted.map((r) => item(r, r === selected)));
  const saved = records.filter((r) => r.id != null).length;
  emptyEl.hidden = records.length > 0;
  countEl.textContent = saved ? "(" + saved + ")" : "";
}
