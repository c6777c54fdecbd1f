/* The filter's rules for markers: the same as webapp/pages/control_room.py (filter_drivers,
 * matches_status), so the map shows exactly the drivers the list does. */

import { needsAttention } from "./attention.js";
import { statusLabel } from "./fleet.js";

const MIN_STATUS_WORD = 3;

/** The filter in force: search words, status, sort (filter.js keeps it in step with the form). */
export const current = { q: "", status: "", sort: "status" };

function normalise(text) {
  return String(text || "")
    .toLowerCase()
    .replace(/_/g, " ")
    .trim()
    .split(/\s+/)
    .join(" ");
}

function statusWords(driver) {
  // Markers exist only for drivers with a fix: online or stale.
  return [statusLabel(driver), driver.stale ? "stale" : "online"];
}

function textMatches(driver, needle) {
  if (!needle) return true;
  if (driver.name.toLowerCase().indexOf(needle) >= 0) return true;
  if (driver.plate.toLowerCase().indexOf(needle) >= 0) return true;
  if (driver.phone.toLowerCase().indexOf(needle) >= 0) return true;
  const idText = needle.replace(/^#/, "");
  if (/^[0-9]{1,18}$/.test(idText) && Number(idText) === driver.id) return true;
  if (needle.length < MIN_STATUS_WORD) return false;
  return statusWords(driver).some((word) => word.indexOf(needle) === 0);
}

function statusMatches(driver, status) {
  if (!status) return true;
  if (status === "stale") return !!driver.stale;
  if (status === "attention") return needsAttention(driver);
  if (driver.stale) return false;
  return status === "online" || driver.status === status;
}

/** Does this driver pass the filter in force? */
export function matchesFilter(driver) {
  return statusMatches(driver, current.status) && textMatches(driver, normalise(current.q));
}
