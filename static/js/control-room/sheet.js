/* On a phone the panel is a bottom sheet over the map: its handle raises and lowers it. */

let map = null;

/** Raise (true) or lower (false) the sheet; the map's visible size changes with it. */
export function expandSheet(expanded) {
  const panel = document.getElementById("panel");
  const handle = document.getElementById("sheet-handle");
  if (!panel || !handle) return;
  panel.dataset.expanded = expanded ? "true" : "false";
  handle.setAttribute("aria-expanded", expanded ? "true" : "false");
  window.setTimeout(() => map && map.invalidateSize(), 250);
}

/** Is the panel a lowered bottom sheet (a phone's layout) right now? */
export function sheetIsLowered() {
  const panel = document.getElementById("panel");
  return !!panel && panel.dataset.expanded === "false" && window.getComputedStyle(panel).position === "absolute";
}

export function startSheet(theMap) {
  map = theMap;
  const panel = document.getElementById("panel");
  const handle = document.getElementById("sheet-handle");
  if (handle && panel) handle.addEventListener("click", () => expandSheet(panel.dataset.expanded !== "true"));
  window.addEventListener("resize", () => map.invalidateSize());
}
