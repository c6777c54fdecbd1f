/* One place search box for every page that asks "where?" (the rider's pickup and drop-off, the
 * dispatcher's phone booking): the operator's own places first, then the geocoder's answers when
 * GEOCODER_URL is set, both from GET /api/v1/places, ranked by the server by name match and by
 * distance to the map's centre.
 *
 * It is the WAI-ARIA combobox pattern on an <input> and its <ul role="listbox">: typing searches
 * (debounced, the previous request aborted), ArrowUp/ArrowDown move through the results, Enter
 * picks, Escape closes, a click or tap picks. Each result shows its name, its category and how far
 * it is. The page decides what a pick does (onPick) and what to say when nothing is found.
 */

import { distance } from "./format.js";
import { requestJson } from "./http.js";

const SEARCH_DELAY_MS = 250;
const MIN_CHARS = 2;
const LIMIT = 8;

const CATEGORY_LABELS = {
  airport: "Airport",
  station: "Station",
  hotel: "Hotel",
  hospital: "Hospital",
  venue: "Venue",
  depot: "Depot",
  landmark: "Landmark",
  other: "Place",
};

/** A result's category as a person reads it ("Address" for the geocoder's answers). */
export function categoryLabel(result) {
  if (result.source === "geocoder") return "Address";
  return CATEGORY_LABELS[result.category] || "Place";
}

/**
 * Wire a search box. options:
 *   input, list          the <input> and its <ul> (hidden while closed)
 *   near()               {lat, lng} to rank by (the map's centre), or null
 *   onPick(result)       {name, lat, lng, category, address, source, distance_m}
 *   onMessage(text, kind) what to tell the user ("" clears); kind "info" or "error"
 *   onUnauthorized()     the session ended (e.g. go to the sign-in page)
 *   skip(text)           true for text that is not a search (typed coordinates, say)
 * Returns {close, search(text)}.
 */
export function placeSearch({ input, list, near, onPick, onMessage = () => {}, onUnauthorized = () => {}, skip }) {
  let results = [];
  let active = -1;
  let timer = null;
  let controller = null;

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", list.id);
  list.setAttribute("role", "listbox");

  function close() {
    results = [];
    active = -1;
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  function option(result, index) {
    const item = document.createElement("li");
    item.id = list.id + "-option-" + index;
    item.className = "place-option";
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", "false");
    const name = document.createElement("span");
    name.className = "place-option-name";
    name.textContent = result.name;
    const meta = document.createElement("span");
    meta.className = "place-option-meta";
    const far = typeof result.distance_m === "number" ? " · " + distance(result.distance_m) : "";
    meta.textContent = categoryLabel(result) + far;
    item.append(name, meta);
    if (result.address && result.address !== result.name) item.title = result.address;
    // mousedown, not click: it runs before the input's blur closes the list.
    item.addEventListener("mousedown", (event) => {
      event.preventDefault();
      pick(index);
    });
    return item;
  }

  function show(found) {
    results = found;
    active = -1;
    list.replaceChildren(...found.map(option));
    if (!found.length) {
      close();
      onMessage("Nothing found by that name. Try another spelling, or tap the map.", "info");
      return;
    }
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function highlight(index) {
    const items = list.querySelectorAll(".place-option");
    if (!items.length) return;
    active = (index + items.length) % items.length;
    items.forEach((item, i) => item.setAttribute("aria-selected", i === active ? "true" : "false"));
    input.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }

  function pick(index) {
    const result = results[index];
    if (!result) return;
    close();
    onPick(result);
  }

  async function search(text) {
    if (controller) controller.abort();
    controller = new AbortController();
    const centre = near && near();
    let url = "/api/v1/places?limit=" + LIMIT + "&q=" + encodeURIComponent(text);
    if (centre) url += "&near=" + centre.lat.toFixed(5) + "," + centre.lng.toFixed(5);
    let answer;
    try {
      answer = await requestJson(url, { signal: controller.signal });
    } catch (error) {
      if (error && error.name === "AbortError") return; // typed on: a newer search runs
      onMessage("Place search is not reachable. Tap the map, or type coordinates (lat, lng).", "error");
      return;
    }
    if (input.value.trim() !== text) return; // typed on meanwhile
    if (answer.status === 401) {
      onUnauthorized();
      return;
    }
    if (!answer.ok || !answer.body) {
      close();
      const detail = answer.body && answer.body.detail;
      onMessage(detail || "Place search is not available right now. Tap the map instead.", "error");
      return;
    }
    onMessage("");
    show(answer.body.results || []);
  }

  input.addEventListener("input", () => {
    const text = input.value.trim();
    if (timer) window.clearTimeout(timer);
    if (text.length < MIN_CHARS || (skip && skip(text))) {
      if (controller) controller.abort();
      close();
      return;
    }
    timer = window.setTimeout(() => search(text), SEARCH_DELAY_MS);
  });

  input.addEventListener("keydown", (event) => {
    const open = !list.hidden;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      highlight(active + 1);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      highlight(active - 1);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      close();
    } else if (event.key === "Enter" && open && results.length) {
      event.preventDefault(); // the form is not sent: Enter picks
      pick(active >= 0 ? active : 0);
    }
  });

  input.addEventListener("blur", () => window.setTimeout(close, 150));

  return { close, search };
}
