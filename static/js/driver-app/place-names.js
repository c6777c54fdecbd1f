/* Places by name on the offer and the trip: "Berlin Hauptbahnhof" (the name the rider chose, or
 * the nearest of the operator's places, "Alexanderplatz, 60 m"), the coordinates a tap away
 * (and in the title, for a mouse). A point the server could not name shows its coordinates. */

function coords(point) {
  return point.lat.toFixed(5) + ", " + point.lng.toFixed(5);
}

/** Fill the place `id` (templates/driver_app.html's place macro) with `point` ({lat, lng, label}). */
export function showPlace(id, point) {
  const name = document.getElementById(id + "-name");
  const where = document.getElementById(id + "-coords");
  if (!name || !where) return;
  const text = point ? coords(point) : "—";
  const label = point && point.label ? String(point.label) : "";
  const key = text + "|" + label;
  if (name.dataset.key === key) return; // the same place again: keep it as the driver left it
  name.dataset.key = key;
  where.textContent = text;
  name.textContent = label;
  name.title = text;
  name.hidden = !label;
  name.setAttribute("aria-expanded", "false");
  where.hidden = !!label;
}

/** A tap on a place's name shows or hides its coordinates. */
export function startPlaceNames(root) {
  root.addEventListener("click", (event) => {
    const name = event.target.closest(".d-place-name");
    if (!name) return;
    const where = document.getElementById(name.getAttribute("aria-controls"));
    const open = name.getAttribute("aria-expanded") !== "true";
    name.setAttribute("aria-expanded", open ? "true" : "false");
    if (where) where.hidden = !open;
  });
}
