/* The fleet, live: read once from /api/v1/drivers, then follow /api/v1/stream/positions
 * (Server-Sent Events over the session cookie). Fixes arrive at least once and maybe out of
 * order: a marker never steps back to an older fix. Each glide lasts about the time between
 * this driver's last two fixes, so a marker keeps moving until the next fix is due. */

import { showStreamStatus } from "../lib/live.js";
import { requestJson } from "../lib/http.js";
import { serverNow } from "../lib/server-clock.js";
import { goToLogin } from "../lib/session.js";
import { openStream } from "../lib/stream.js";
import { extendTrail } from "./detail.js";
import { STATUSES, drivers, noteSeen, parseTime, selection } from "./fleet.js";
import { keepInView } from "./follow.js";
import { chooseMarkerLayer, ensureDriver, fitToDrivers, moveTo, refresh, updateFromSnapshot } from "./markers.js";
import { streamDown, streamUp } from "./outage.js";

const L = window.L;
const API_DRIVERS = "/api/v1/drivers";
const STREAM_URL = "/api/v1/stream/positions";
// A glide lasts about the time between this driver's last two fixes, within these bounds.
const MIN_ANIMATION_MS = 500;
const MAX_ANIMATION_MS = 10000;
const DEFAULT_INTERVAL_MS = 1000;

let firstLoad = true;
let snapshotTimer = null;
let stream = null;

/** Read the whole fleet (on start, after an outage, when an unknown driver shows up). */
export function loadSnapshot() {
  return requestJson(API_DRIVERS)
    .then((answer) => {
      if (answer.status === 401 || answer.status === 403) {
        goToLogin({ withQuery: true });
        throw new Error("signed out");
      }
      if (!answer.ok || !answer.body) throw new Error("GET " + API_DRIVERS + " answered " + answer.status);
      (answer.body.drivers || []).forEach(updateFromSnapshot);
      if (firstLoad) {
        firstLoad = false;
        fitToDrivers();
        chooseMarkerLayer();
      }
    })
    .catch((error) => {
      if (window.console) console.warn("hexfleet: could not load drivers:", error);
    });
}

function refreshSnapshotSoon() {
  if (snapshotTimer) return;
  snapshotTimer = window.setTimeout(() => {
    snapshotTimer = null;
    loadSnapshot();
  }, 500);
}

function onPosition(data) {
  const id = data.driver_id;
  if (typeof id !== "number" || typeof data.lat !== "number" || typeof data.lng !== "number") return;
  const ts = parseTime(data.ts);
  let driver = drivers.get(id);
  const target = L.latLng(data.lat, data.lng);
  if (!driver) {
    driver = ensureDriver(id, { lat: data.lat, lng: data.lng, status: data.status, ts: data.ts, heading: data.heading });
    refreshSnapshotSoon(); // learn the new driver's name
  } else {
    // Delivery is at-least-once and may reorder: never step back to an older fix.
    if (ts !== null && driver.lastTs !== null && ts <= driver.lastTs) return;
    // The glide lasts the measured time between this driver's last two live fixes (device
    // time when both have one, else arrival time), so the marker arrives as the next fix is
    // due and never stands still in between. After a long silence (or the first live fix),
    // a quick glide: that is a catch-up, not a stream.
    let gap = null;
    if (ts !== null && driver.liveTs !== null) gap = ts - driver.liveTs;
    else if (driver.lastArrival !== null) gap = performance.now() - driver.lastArrival;
    driver.interval =
      gap !== null && gap > 0 && gap <= MAX_ANIMATION_MS * 1.5
        ? Math.max(MIN_ANIMATION_MS, Math.min(MAX_ANIMATION_MS, gap))
        : DEFAULT_INTERVAL_MS;
    moveTo(driver, target);
  }
  driver.lastArrival = performance.now();
  driver.liveTs = ts;
  if (ts !== null) driver.lastTs = ts;
  driver.lastFixAt = Date.now();
  noteSeen(id, serverNow()); // received just now, in server time
  driver.heading = data.heading;
  if (data.status && STATUSES[data.status]) driver.status = data.status;
  driver.stale = false;
  refresh(driver);
  extendTrail(id, data.lat, data.lng);
  if (id === selection.followId) keepInView(target, driver.anim ? driver.anim.duration : 0);
}

function onStatus(data) {
  const driver = drivers.get(data.driver_id);
  if (!driver || !STATUSES[data.status]) return;
  driver.status = data.status;
  refresh(driver);
}

/** Before trying the stream again: a session that ended goes to the sign-in page. */
function checkSession() {
  return fetch(API_DRIVERS, { credentials: "same-origin", method: "GET" })
    .then((response) => {
      if (response.status === 401 || response.status === 403) goToLogin({ withQuery: true });
    })
    .catch(() => {});
}

/** Follow the position stream. */
export function followPositions() {
  const indicator = document.getElementById("live-indicator");
  stream = openStream(STREAM_URL, {
    events: {
      position: (data) => data && onPosition(data),
      status: (data) => data && onStatus(data),
    },
    onStatus: (status) => {
      showStreamStatus(indicator, status);
      if (status !== "connected") streamDown();
    },
    onOpen: (recovered) => {
      // Pings sent while we were away are not replayed: catch up from the snapshot, and
      // measure ping intervals afresh.
      if (recovered) {
        drivers.forEach((driver) => {
          driver.lastArrival = null;
          driver.liveTs = null;
        });
        loadSnapshot();
      }
      streamUp(recovered);
    },
    beforeRetry: checkSession,
  });
}

/** Errored since the last successful open: the server is most likely away too. */
export function positionsInterrupted() {
  return !!stream && stream.hadError();
}
