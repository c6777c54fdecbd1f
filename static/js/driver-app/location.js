/* The phone's position: watched while the page is open, sent to /d/pings about every
 * SEND_EVERY_MS (queued while offline, MAX_QUEUE at most), and what is happening said in words
 * (sharing, waiting for the first fix, denied, offline, too imprecise, refused). */

import { ago, distance, duration } from "../lib/format.js";
import { call, problemText } from "./api.js";
import { config, el } from "./state.js";

const SEND_EVERY_MS = 5000; // about one fix every 5 s, like a phone app on a live-dispatch setting
const MAX_QUEUE = 120; // 10 minutes of fixes kept while offline; older ones are dropped
const QUIET_MS = 15000; // no fix for this long: ask the phone for a fresh one

/** What the page does with a new fix (the map, the distance to go), after the first send, and
 * when sharing the position starts or stops (the duty card explains "Waiting for GPS" by it). */
export const hooks = { fix: () => {}, firstSent: () => {}, mode: () => {} };

export const loc = {
  mode: "idle", // idle | prompt | waiting | sending | denied | unavailable
  watchId: null,
  latest: null, // the newest fix from the browser
  lastFixAt: 0,
  heartbeatAt: 0,
  lastQueued: null,
  lastQueuedAt: 0,
  throttle: null,
  queue: [],
  sending: false,
  retry: null,
  lastSentAt: 0,
  lastSent: null,
  serverNote: "", // the last fix the server refused, explained
  offline: false,
  slowedDown: false, // the server answered 429
};

function setLocation(mode) {
  var changed = loc.mode !== mode;
  loc.mode = mode;
  renderLocation();
  if (changed) hooks.mode(mode);
}

export function renderLocation() {
  var text;
  var mode = loc.mode;
  var shown = mode;
  if (mode === "sending" && (loc.offline || loc.slowedDown)) shown = "offline";
  var waiting = loc.queue.length + (loc.queue.length === 1 ? " position" : " positions");
  var quietS = loc.lastFixAt ? (Date.now() - loc.lastFixAt) / 1000 : 0;
  if (mode === "sending" && shown !== "offline" && quietS > config.stale_after_s) shown = "waiting";
  if (mode === "prompt") {
    text = "Share your location so dispatch can see you and offer you rides nearby.";
  } else if (mode === "waiting") {
    text = "Location is on. Waiting for the first position from your phone…";
  } else if (mode === "denied") {
    text = "Location is off for this page. Dispatch cannot see where you are, so no ride offers reach you.";
  } else if (mode === "unavailable") {
    text = loc.unavailableText || "This phone cannot tell its position right now.";
  } else if (mode === "sending") {
    if (shown === "waiting") {
      text =
        "Your phone has reported no new position for " + duration(quietS) + ", so dispatch " +
        "sees you as offline. Is its location (GPS) on, and is this page in front?";
    } else if (loc.slowedDown) {
      text = "The server asked for fewer positions: " + waiting + " waiting, sent again shortly.";
    } else if (shown === "offline") {
      text = "No connection: " + waiting + " waiting, sent when you are back online.";
    } else if (!loc.lastSentAt) {
      text = "Sending your position…";
    } else {
      var since = Math.max(0, Math.round((Date.now() - loc.lastSentAt) / 1000));
      text = "Sharing your position with dispatch · sent " + (since < 2 ? "just now" : ago(since));
      var accuracy = loc.lastSent && loc.lastSent.accuracy_m;
      if (accuracy !== undefined && accuracy !== null) {
        text += " · ±" + distance(Math.round(accuracy));
        if (accuracy > config.max_accuracy_m) {
          text += ". Too imprecise for the dispatch map: turn on precise location or move into the open.";
        }
      }
    }
    if (loc.serverNote) text += " " + loc.serverNote;
  } else {
    text = "Checking whether this browser may share its location…";
  }
  el.location.dataset.state = shown;
  if (el.locationText.textContent !== text) el.locationText.textContent = text;
  el.locationBtn.hidden = mode !== "prompt";
  el.locationHelp.hidden = !(mode === "denied" || mode === "unavailable");
}

function unavailable(text) {
  loc.unavailableText = text;
  setLocation("unavailable");
}

export function startLocation() {
  if (!("geolocation" in navigator)) return unavailable("This browser cannot share its location.");
  if (!window.isSecureContext) {
    return unavailable(
      "Browsers share location only with secure (https) pages, and this one is not. Ask your admin to serve hexfleet over https."
    );
  }
  if (loc.watchId !== null) return;
  if (loc.mode !== "sending") setLocation("waiting");
  loc.watchId = navigator.geolocation.watchPosition(onFix, onFixError, {
    enableHighAccuracy: true,
    maximumAge: 3000,
    timeout: 30000,
  });
}

export function stopLocation() {
  if (loc.watchId !== null && navigator.geolocation) navigator.geolocation.clearWatch(loc.watchId);
  loc.watchId = null;
}

function onFix(position) {
  var c = position.coords;
  var fix = { lat: c.latitude, lng: c.longitude, ts: (position.timestamp || Date.now()) / 1000 };
  if (isFinite(c.accuracy) && c.accuracy !== null) fix.accuracy_m = Math.round(c.accuracy * 10) / 10;
  if (c.speed !== null && isFinite(c.speed) && c.speed >= 0) fix.speed_mps = c.speed;
  if (c.heading !== null && isFinite(c.heading)) fix.heading = c.heading;
  if (loc.latest && loc.latest.ts === fix.ts) return; // the same fix again (a cached answer)
  loc.latest = fix;
  loc.lastFixAt = Date.now();
  if (loc.mode !== "sending") setLocation("sending");
  hooks.fix(fix);
  var since = Date.now() - loc.lastQueuedAt;
  if (since >= SEND_EVERY_MS) {
    enqueue(fix);
  } else if (!loc.throttle) {
    loc.throttle = window.setTimeout(function () {
      loc.throttle = null;
      if (loc.latest !== loc.lastQueued) enqueue(loc.latest);
    }, SEND_EVERY_MS - since);
  }
}

function onFixError(error) {
  if (error.code === 1) {
    stopLocation();
    setLocation("denied");
  } else if (error.code === 2) {
    // One miss after good fixes (a tunnel, a failed fresh-fix request) is no news.
    if (loc.latest && Date.now() - loc.lastFixAt < config.stale_after_s * 1000) return;
    unavailable("Your phone cannot find its position. Is its location (GPS) switched on?");
  } else if (loc.mode !== "sending") {
    setLocation("waiting"); // a timeout: the phone keeps trying
  }
}

/* Some phones report nothing new while standing still, and a position older than a
   minute is stale to dispatch: when the watch has gone quiet, ask for a fresh fix. */
export function heartbeat() {
  if (loc.watchId === null || loc.mode !== "sending" || document.visibilityState !== "visible") return;
  var now = Date.now();
  if (now - loc.lastFixAt < QUIET_MS || now - loc.heartbeatAt < QUIET_MS) return;
  loc.heartbeatAt = now;
  navigator.geolocation.getCurrentPosition(onFix, function () {}, {
    enableHighAccuracy: true,
    maximumAge: 0,
    timeout: QUIET_MS,
  });
}

function enqueue(fix) {
  loc.lastQueued = fix;
  loc.lastQueuedAt = Date.now();
  loc.queue.push(fix);
  if (loc.queue.length > MAX_QUEUE) loc.queue.splice(0, loc.queue.length - MAX_QUEUE);
  flush();
}

export function flushNow() {
  window.clearTimeout(loc.retry);
  loc.retry = null;
  flush();
}

function retryIn(ms) {
  window.clearTimeout(loc.retry);
  loc.retry = window.setTimeout(function () {
    loc.retry = null;
    flush();
  }, ms);
}

function flush() {
  if (loc.sending || loc.retry || !loc.queue.length) return;
  var batch = loc.queue.slice(0, config.max_batch || 100);
  loc.sending = true;
  call("POST", "/d/pings", { pings: batch })
    .then(function (result) {
      loc.offline = false;
      loc.slowedDown = false;
      if (result.status === 202) {
        loc.queue.splice(0, batch.length);
        var first = !loc.lastSentAt;
        loc.lastSentAt = Date.now();
        loc.lastSent = batch[batch.length - 1];
        if (first) hooks.firstSent();
        var refused = (result.data.rejected || []).slice(-1)[0];
        loc.serverNote = refused ? refusalText(refused.error) : "";
      } else if (result.status === 429 || result.status >= 500) {
        // The server cannot take them now (busy broker, too many at once): keep them, retry as it asks.
        loc.offline = result.status !== 429;
        loc.slowedDown = result.status === 429;
        retryIn((parseInt(result.headers.get("Retry-After"), 10) || 5) * 1000);
      } else {
        loc.queue.splice(0, batch.length); // the server will never take these: do not resend
        loc.serverNote = problemText(result);
      }
    })
    .catch(function () {
      loc.offline = true;
      retryIn(SEND_EVERY_MS);
    })
    .finally(function () {
      loc.sending = false;
      renderLocation();
      if (loc.queue.length && !loc.retry) flush();
    });
}

function refusalText(error) {
  if (/ahead of server time|in the past/.test(error)) {
    return "The server refused a position: this phone's clock is wrong. Set date and time to automatic.";
  }
  return "The server refused a position (" + error + ").";
}

export function startLocationButton() {
  el.locationBtn.addEventListener("click", startLocation);
}

export function checkPermission() {
  if (!("geolocation" in navigator) || !window.isSecureContext) return startLocation();
  if (!navigator.permissions || !navigator.permissions.query) return startLocation();
  navigator.permissions
    .query({ name: "geolocation" })
    .then(function (permission) {
      function apply() {
        if (permission.state === "granted") startLocation();
        else if (permission.state === "denied") {
          stopLocation();
          setLocation("denied");
        } else if (loc.watchId === null) setLocation("prompt");
      }
      permission.addEventListener("change", apply);
      apply();
    })
    .catch(startLocation);
}
