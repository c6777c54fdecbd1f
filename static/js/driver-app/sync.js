/* Keeping the page in step with the server: duty, the open offer and the ride in hand from
 * three GETs (/d/me, /api/v1/driver/offers, /api/v1/driver/bookings/current), fetched again
 * whenever the offers stream says something changed, after the driver's own taps, and every
 * SAFETY_REFRESH_MS in case an event was lost. While the driver is available but waiting for
 * GPS (dispatch has no fresh position from the phone), /d/me alone is asked every
 * WAITING_POLL_MS, so "Available" shows as soon as the phone's first position has arrived. */

import { setLive, showStreamStatus } from "../lib/live.js";
import { setServerOffset } from "../lib/server-clock.js";
import { openStream } from "../lib/stream.js";
import { call } from "./api.js";
import { flushNow } from "./location.js";
import { API, el, state } from "./state.js";
import { render, renderDuty } from "./views.js";

const WAITING_POLL_MS = 2000;

var refreshing = null;
var refreshAgain = false;
var localChanges = 0; // bumped by every answer to the driver's own taps
var refreshRetry = null;

/** Fetch duty, offer and ride together; one at a time, and once more if asked meanwhile. */
export function refresh() {
  if (refreshing) {
    refreshAgain = true;
    return refreshing;
  }
  window.clearTimeout(refreshRetry);
  var sentAt = Date.now();
  var changesBefore = localChanges;
  refreshing = Promise.all([
    call("GET", "/d/me"),
    call("GET", API + "/offers"),
    call("GET", API + "/bookings/current"),
  ])
    .then(function (results) {
      var me = results[0];
      var offers = results[1];
      var current = results[2];
      if (!me.ok || !offers.ok || !current.ok) throw new Error("state answered " + [me.status, offers.status, current.status]);
      if (changesBefore !== localChanges) {
        // The driver changed something while these were on the way: they may predate it.
        refreshAgain = true;
        return;
      }
      if (stream && stream.isOpen()) showStreamStatus(el.live, "connected");
      if (typeof me.data.server_time === "number") {
        // Half the round trip is the best guess of when the server read its clock.
        setServerOffset(me.data.server_time * 1000 - (sentAt + Date.now()) / 2);
      }
      learnDuty(me.data);
      state.offer = (offers.data.offers || [])[0] || null;
      state.ride = current.data.booking || null;
      render();
    })
    .catch(function (error) {
      if (window.console) console.warn("hexfleet: could not fetch the driver's state:", error);
      showStreamStatus(el.live, "down");
      refreshRetry = window.setTimeout(refresh, 5000);
    })
    .finally(function () {
      refreshing = null;
      if (refreshAgain) {
        refreshAgain = false;
        refresh();
      }
    });
  return refreshing;
}

function learnDuty(me) {
  state.me = me;
  state.status = me.status;
  state.waitingForGps = !!me.waiting_for_gps;
  watchForGps();
}

var waitingPoll = null;

/** While waiting for GPS: ask /d/me again shortly (the tracker takes a moment with a fix). */
export function watchForGps() {
  if (waitingPoll || !(state.status === "available" && state.waitingForGps)) return;
  waitingPoll = window.setTimeout(function () {
    waitingPoll = null;
    if (!(state.status === "available" && state.waitingForGps)) return;
    if (document.visibilityState !== "visible") return watchForGps(); // no news for a hidden page
    var changesBefore = localChanges;
    call("GET", "/d/me")
      .then(function (me) {
        if (!me.ok || changesBefore !== localChanges) return;
        var before = state.status;
        learnDuty(me.data);
        if (state.status !== before) refresh(); // dispatch changed the duty meanwhile: the whole state
        else renderDuty();
      })
      .catch(function () {})
      .finally(watchForGps);
  }, WAITING_POLL_MS);
}

/** An answer to the driver's own tap: a fetch on the way may predate it. */
export function changedHere() {
  localChanges++;
}

var stream = null;

/** Follow the offers stream: any `booking` event means "look again". */
export function followOffers() {
  stream = openStream(API + "/offers/stream", {
    events: {
      booking: function (data) {
        // An event we cannot read still means "look again".
        if (data && data.booking_id) state.lastEvent[data.booking_id] = data;
        refresh();
      },
    },
    onStatus: function (status) {
      showStreamStatus(el.live, status);
    },
    onOpen: function (recovered) {
      if (recovered) refresh(); // events sent while we were away are not replayed: fetch the state
    },
    // The browser gave up (the server answered an error): check the session, then retry.
    beforeRetry: refresh,
  });
}

/** Back in front: fetch the state, and a stream that died meanwhile starts again. */
export function catchUp() {
  refresh();
  if (stream && stream.isDown()) stream.restart();
}

export function startNetworkWatch() {
  window.addEventListener("online", function () {
    // A stream that looks open may have died with the network (phones change networks,
    // NATs forget idle connections): start a fresh one, and fetch what was missed.
    if (stream) stream.restart();
    refresh();
    flushNow();
  });

  window.addEventListener("offline", function () {
    setLive(el.live, "offline", "offline");
  });
}
