/* The server's clock as this page knows it: ages ("12 s ago") and countdowns count from the
 * server's time, not the device's, which may be off by minutes (phones, kiosks). Pages that
 * learn the server's time (a Date header, a data-now attribute, /d/me's server_time) set it. */

let offsetMs = 0; // the server's clock minus ours

/** Now, in milliseconds since the epoch, by the server's clock. */
export function serverNow() {
  return Date.now() + offsetMs;
}

/** The server's clock minus ours, in milliseconds. */
export function serverOffset() {
  return offsetMs;
}

/** Learn the offset, e.g. server time read at `serverMs` while our clock said `localMs`. */
export function setServerOffset(ms) {
  if (isFinite(ms)) offsetMs = ms;
}
