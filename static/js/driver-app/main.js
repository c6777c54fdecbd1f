/* hexfleet driver web app (/d): duty, live ride offers, the trip, and the phone's position.
 *
 * Everything goes through the driver API with the session cookie (state changes carry the
 * page's CSRF token in X-CSRF-Token):
 *   GET  /d/me                                  duty, waiting for GPS, last fix, the server's clock
 *   POST /api/v1/driver/status                  available | off_duty
 *   GET  /api/v1/driver/offers                  the open offer (at most one)
 *   GET  /api/v1/driver/bookings/current        the ride in hand
 *   POST /api/v1/driver/offers/{id}/accept|decline
 *   POST /api/v1/driver/bookings/{id}/arrived|start|complete|cancel
 *   GET  /api/v1/driver/offers/stream           SSE: any `booking` event → fetch the state again
 *   POST /d/pings                               the browser's positions, about one every 5 s
 *   GET  /api/v1/places?near=                   places by name, when the map has no tiles
 *
 * One module per job: state.js (settings, elements, what the page knows), sync.js (the three
 * GETs and the stream), views.js, place-names.js, actions.js, location.js, map.js (with the
 * tiles, or the places by name without them), alerts.js, note.js, api.js.
 *
 * For tests: window.hexfleetDriver = {state, alerts, map, location}.
 */

import { showStreamStatus } from "../lib/live.js";
import { startActions } from "./actions.js";
import { startAlerts } from "./alerts.js";
import { onSignedOut } from "./api.js";
import {
  checkPermission,
  flushNow,
  heartbeat,
  hooks,
  loc,
  renderLocation,
  startLocationButton,
  stopLocation,
} from "./location.js";
import { showMe, startMap } from "./map.js";
import { startNotes } from "./note.js";
import { startPlaceNames } from "./place-names.js";
import { alerts, config, el, root, state } from "./state.js";
import { catchUp, followOffers, refresh, startNetworkWatch } from "./sync.js";
import { onOfferExpired, renderDuty, renderTrip, tickCountdown } from "./views.js";

const TICK_MS = 500;
const SAFETY_REFRESH_MS = 30000; // in case an event was lost on the way

if (root && config.driver_id !== undefined) start();

/* Keep the screen on while the page is open: a sleeping phone takes no offers. */
let wakeLock = null;

function keepAwake() {
  if (!navigator.wakeLock || wakeLock || document.visibilityState !== "visible") return;
  navigator.wakeLock
    .request("screen")
    .then((lock) => {
      wakeLock = lock;
      lock.addEventListener("release", () => {
        wakeLock = null;
      });
    })
    .catch(() => {});
}

function start() {
  window.hexfleetDriver = { state, alerts, map: null, location: loc };
  window.hexfleetDriver.map = startMap();
  onSignedOut(() => {
    // The session ended (its time was up, or the device token was rotated): /d says how to get back.
    stopLocation();
    window.location.assign("/d");
  });
  onOfferExpired(refresh);
  hooks.fix = (fix) => {
    showMe(fix);
    if (state.ride) renderTrip(state.ride);
  };
  hooks.firstSent = renderDuty;
  hooks.mode = renderDuty;
  startPlaceNames(root);
  startNotes();
  startAlerts();
  startActions();
  startLocationButton();
  startNetworkWatch();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible") return;
    catchUp();
    keepAwake();
    flushNow();
  });

  window.setInterval(() => {
    tickCountdown();
    if (loc.mode === "sending") renderLocation();
    heartbeat();
  }, TICK_MS);
  window.setInterval(refresh, SAFETY_REFRESH_MS);

  renderDuty();
  renderLocation();
  showStreamStatus(el.live, "connecting");
  refresh().then(() => {
    followOffers();
    checkPermission();
    keepAwake();
  });
}
