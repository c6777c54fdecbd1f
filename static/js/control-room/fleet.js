/* The drivers the control room knows, and who is selected and followed.
 *
 * One record per driver with a position: {id, marker, name, plate, phone, status, stale,
 * problemAt, heading, lastTs, lastFixAt, lastArrival, liveTs, interval, anim, visible}.
 * The snapshot (/api/v1/drivers) creates them, the position stream moves them.
 */

export const drivers = new Map(); // id -> record
export const markers = new Map(); // id -> L.Marker (window.hexfleetMap.markers, for tests)

// When the server received each driver's last fix (ms, server clock): the list's ages. The rows
// carry no fix times after the first page (their HTML stays the same while only positions
// change, so the 3 s refresh is a 304): the snapshot and the stream keep them here.
export const seenAt = new Map();

/** Who the dispatcher is looking at: the driver whose card is open, and the one followed. */
export const selection = { driverId: null, followId: null };

export const STATUSES = { available: 1, busy: 1, off_duty: 1 };
const STATUS_WORDS = { available: "available", busy: "busy", off_duty: "off duty" };

/** Epoch milliseconds from an ISO time or epoch seconds/milliseconds; null for nothing. */
export function parseTime(value) {
  if (value === null || value === undefined || value === "") return null;
  if (typeof value === "number") return value < 1e12 ? value * 1000 : value;
  const t = Date.parse(value);
  return isNaN(t) ? null : t;
}

/** "available", "busy", "off duty". */
export function statusLabel(driver) {
  return STATUS_WORDS[driver.status] || String(driver.status || "").replace("_", " ");
}

/** Remember when the server last heard from a driver (never going back in time). */
export function noteSeen(id, at) {
  if (at === null || isNaN(at)) return;
  const known = seenAt.get(id);
  if (known === undefined || at > known) seenAt.set(id, at);
}
