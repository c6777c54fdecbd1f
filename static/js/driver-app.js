/* hexfleet driver web app (/d): duty, live ride offers, the trip, and the phone's position.
 *
 * Everything goes through the driver API with the session cookie (state changes carry the
 * page's CSRF token in X-CSRF-Token):
 *   GET  /d/me                                  duty, last fix, the server's clock
 *   POST /api/v1/driver/status                  available | off_duty
 *   GET  /api/v1/driver/offers                  the open offer (at most one)
 *   GET  /api/v1/driver/bookings/current        the ride in hand
 *   POST /api/v1/driver/offers/{id}/accept|decline
 *   POST /api/v1/driver/bookings/{id}/arrived|start|complete|cancel
 *   GET  /api/v1/driver/offers/stream           SSE: any `booking` event → fetch the state again
 *   POST /d/pings                               the browser's positions, about one every 5 s
 *
 * Nothing is kept in the page that the server does not also know: a reload, a lost network
 * or a phone that slept shows the current offer or ride again from the same three GETs.
 *
 * For tests: window.hexfleetDriver = {state, alerts, map, location}.
 */

import { ago, distance, duration, minutes, money, time, timeTitle } from "./lib/format.js";
import { metresBetween } from "./lib/geo.js";
import { requestJson } from "./lib/http.js";
import { setLive, showStreamStatus } from "./lib/live.js";
import { serverNow, setServerOffset } from "./lib/server-clock.js";
import { openStream } from "./lib/stream.js";

const L = window.L;

main();

function main() {
  var root = document.getElementById("driver-app");
  var configEl = document.getElementById("d-config");
  if (!root || !configEl) return;
  var config = JSON.parse(configEl.textContent);

  var API = "/api/v1/driver";
  var STREAM_URL = API + "/offers/stream";
  var SEND_EVERY_MS = 5000; // about one fix every 5 s, like a phone app on a live-dispatch setting
  var MAX_QUEUE = 120; // 10 minutes of fixes kept while offline; older ones are dropped
  var SAFETY_REFRESH_MS = 30000; // in case an event was lost on the way
  var QUIET_MS = 15000; // no fix for this long: ask the phone for a fresh one
  var STEPS = {
    assigned: { step: "arrived", label: "I have arrived", title: "Drive to the pickup", target: "pickup" },
    arrived: { step: "start", label: "Start the trip", title: "Waiting at the pickup", target: "pickup" },
    in_progress: { step: "complete", label: "Complete the trip", title: "Drive to the drop-off", target: "dropoff" },
  };
  var RELEASABLE = { assigned: 1, arrived: 1 };

  function $(id) {
    return document.getElementById(id);
  }

  var el = {
    live: $("d-live"),
    note: $("d-note"),
    noteText: $("d-note-text"),
    noteClose: $("d-note-close"),
    offer: $("d-offer"),
    countdown: $("d-countdown-s"),
    countdownBar: $("d-countdown-bar"),
    offerPrice: $("d-offer-price"),
    offerDistance: $("d-offer-distance"),
    offerEta: $("d-offer-eta"),
    offerTrip: $("d-offer-trip"),
    offerWhenRow: $("d-offer-when-row"),
    offerWhen: $("d-offer-when"),
    offerNotesRow: $("d-offer-notes-row"),
    offerNotes: $("d-offer-notes"),
    accept: $("d-accept"),
    decline: $("d-decline"),
    trip: $("d-trip"),
    tripKicker: $("d-trip-kicker"),
    tripTitle: $("d-trip-title"),
    tripPrice: $("d-trip-price"),
    targetLabel: $("d-target-label"),
    targetCoords: $("d-target-coords"),
    targetAway: $("d-target-away"),
    navGeo: $("d-nav-geo"),
    navOsm: $("d-nav-osm"),
    passengerName: $("d-passenger-name"),
    passengerPhone: $("d-passenger-phone"),
    passengerNumber: $("d-passenger-number"),
    tripNotesRow: $("d-trip-notes-row"),
    tripNotes: $("d-trip-notes"),
    step: $("d-step"),
    release: $("d-release"),
    duty: $("d-duty"),
    status: $("d-status"),
    dutyText: $("d-duty-text"),
    dutyBtn: $("d-duty-btn"),
    location: $("d-location"),
    locationText: $("d-location-text"),
    locationBtn: $("d-location-btn"),
    locationHelp: $("d-location-help"),
    logout: $("d-logout"),
    dialog: $("d-release-dialog"),
    dialogForm: $("d-release-form"),
    dialogError: $("d-release-error"),
    dialogDetails: $("d-release-details"),
  };

  var state = {
    status: config.status,
    me: null,
    offer: null,
    ride: null,
    lastEvent: {}, // booking id -> the last `booking` event seen for it
    acted: {}, // offer or booking ids this page answered itself (no "it is gone" note for those)
    shownOfferId: null,
    shownOffer: null,
    shownRide: null,
    busy: false,
  };
  var alerts = [];
  window.hexfleetDriver = { state: state, alerts: alerts, map: null };

  /* ------------------------------------------------------------------ formatting */

  /** A GPS distance is no better than ten metres: "about 850 m", never "3 m". */
  function approxDistance(metres) {
    if (metres === null || metres === undefined) return "—";
    return distance(metres < 950 ? Math.max(10, Math.round(metres / 10) * 10) : metres);
  }

  /** "about 4 min": whole minutes, never less than one. */
  function about(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    return "about " + minutes(seconds);
  }

  function coords(point) {
    return point.lat.toFixed(5) + ", " + point.lng.toFixed(5);
  }

  /* Without a routing server the platform estimates road distance and time the same way
     (README, "Distance and duration"): great-circle distance × DETOUR_FACTOR at AVERAGE_SPEED_KMH. */
  function roadMetres(from, to) {
    return metresBetween(from, to) * (config.detour_factor || 1.3);
  }

  function estimateSeconds(straightMetres) {
    if (straightMetres === null || straightMetres === undefined) return null;
    return (straightMetres * (config.detour_factor || 1.3)) / (((config.average_speed_kmh || 25) * 1000) / 3600);
  }

  /* ------------------------------------------------------------------ talking to the server */

  function signedOut() {
    // The session ended (its time was up, or the device token was rotated): /d says how to get back.
    stopLocation();
    window.location.assign("/d");
  }

  /** fetch JSON; resolves {ok, status, data, headers}, rejects only when the network fails. */
  function call(method, url, body) {
    return requestJson(url, { method: method, body: body }).then(function (answer) {
      if (answer.status === 401) {
        signedOut();
        return new Promise(function () {}); // the page is leaving: nothing more to do
      }
      return { ok: answer.ok, status: answer.status, data: answer.body || {}, headers: answer.headers };
    });
  }

  function problemText(result) {
    if (result.status === 403 && result.data && /\/csrf$/.test(result.data.type || "")) {
      return "This page is out of date. Reload it and try again.";
    }
    var detail = result.data && result.data.detail;
    return detail ? capitalise(detail) + "." : "Something went wrong (" + result.status + "). Try again.";
  }

  function capitalise(text) {
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  var refreshing = null;
  var refreshAgain = false;
  var localChanges = 0; // bumped by every answer to the driver's own taps
  var refreshRetry = null;

  /** Fetch duty, offer and ride together; one at a time, and once more if asked meanwhile. */
  function refresh() {
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
        state.me = me.data;
        state.status = me.data.status;
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

  /* ------------------------------------------------------------------ notes */

  var noteTimer = null;

  function note(text, kind, keepMs) {
    window.clearTimeout(noteTimer);
    el.noteText.textContent = text;
    el.note.dataset.kind = kind || "info";
    el.note.hidden = false;
    if (keepMs) {
      noteTimer = window.setTimeout(function () {
        el.note.hidden = true;
      }, keepMs);
    }
  }

  el.noteClose.addEventListener("click", function () {
    el.note.hidden = true;
  });

  /* ------------------------------------------------------------------ rendering */

  function render() {
    explainWhatWentAway();
    var view = state.ride ? "trip" : state.offer ? "offer" : "idle";
    var changed = root.dataset.view !== view;
    root.dataset.view = view;
    el.trip.hidden = view !== "trip";
    el.offer.hidden = view !== "offer";
    el.duty.hidden = view !== "idle";
    if (view === "trip") renderTrip(state.ride);
    if (view === "offer") renderOffer(state.offer);
    renderDuty();
    renderMap(changed);
    state.shownOffer = state.offer;
    state.shownRide = state.ride;
  }

  /** An offer or a ride the page showed is gone, and not because the driver answered it here. */
  function explainWhatWentAway() {
    var before = state.shownOffer;
    if (before && !(state.offer && state.offer.id === before.id) && !state.acted["offer:" + before.id]) {
      var taken = state.ride && state.ride.id === before.booking_id;
      if (!taken) {
        var event = state.lastEvent[before.booking_id] || {};
        if (event.action === "cancel") note("The rider cancelled that ride.", "warn");
        else if (event.action === "expire" || Date.parse(before.expires_at) <= serverNow())
          note("The offer expired and went to another driver.", "warn");
        else note("That offer was withdrawn.", "warn");
      }
    }
    var ride = state.shownRide;
    if (ride && !(state.ride && state.ride.id === ride.id) && !state.acted["ride:" + ride.id]) {
      var ended = state.lastEvent[ride.id] || {};
      if (ended.action === "cancel") {
        var by = ended.booking && ended.booking.cancelled_by;
        note(by === "customer" ? "The rider cancelled the ride." : "Dispatch cancelled the ride.", "warn");
      } else if (ended.action === "reassign") {
        note("Dispatch gave the ride to another driver.", "warn");
      } else {
        note("That ride is no longer yours.", "warn");
      }
    }
  }

  function renderDuty() {
    var status = state.status;
    el.status.className = "badge badge-" + status;
    el.status.textContent = { available: "Available", busy: "Busy", off_duty: "Off duty" }[status] || status;
    var me = state.me || {};
    // This page's own fixes count at once (the server's view of them lags by a moment).
    var seen = me.online || (loc.lastSentAt && Date.now() - loc.lastSentAt < config.stale_after_s * 1000);
    var text;
    if (status === "available") {
      text = seen
        ? "You are available. Ride offers appear here: keep this page open."
        : "You are available, but dispatch has no recent position from you, so no offers can reach you. Share your location below.";
      el.dutyBtn.textContent = "Go off duty";
      el.dutyBtn.dataset.to = "off_duty";
      el.dutyBtn.className = "btn btn-secondary d-btn";
    } else {
      text =
        status === "busy"
          ? "Dispatch marked you busy. Go available when you are ready for offers."
          : "You are off duty: no ride offers.";
      el.dutyBtn.textContent = "Go available";
      el.dutyBtn.dataset.to = "available";
      el.dutyBtn.className = "btn btn-go d-btn";
    }
    el.dutyText.textContent = text;
  }

  function renderOffer(offer) {
    var booking = offer.booking;
    if (state.shownOfferId !== offer.id) {
      state.shownOfferId = offer.id;
      el.accept.disabled = false;
      el.decline.disabled = false;
      state.offerTotalMs = Math.max(1000, Date.parse(offer.expires_at) - Date.parse(offer.created_at));
      announceOffer(offer);
    }
    el.offerPrice.textContent = money(booking.price_minor, booking.currency);
    el.offerDistance.textContent = approxDistance(offer.distance_m) + " away";
    el.offerEta.textContent = about(offer.eta_s !== null ? offer.eta_s : estimateSeconds(offer.distance_m));
    el.offerTrip.textContent = "about " + approxDistance(roadMetres(booking.pickup, booking.dropoff));
    el.offerWhenRow.hidden = !booking.scheduled_for;
    if (booking.scheduled_for) {
      el.offerWhen.textContent = time(booking.scheduled_for);
      el.offerWhen.title = timeTitle(booking.scheduled_for);
    }
    el.offerNotesRow.hidden = !offer.notes;
    el.offerNotes.textContent = offer.notes || "";
    tickCountdown();
  }

  function tickCountdown() {
    var offer = state.offer;
    if (!offer || el.offer.hidden) return;
    var left = Math.max(0, Date.parse(offer.expires_at) - serverNow());
    var seconds = Math.ceil(left / 1000);
    el.countdown.textContent = String(seconds);
    el.countdownBar.style.transform = "scaleX(" + Math.min(1, left / state.offerTotalMs).toFixed(3) + ")";
    el.offer.dataset.urgent = seconds <= 5 ? "true" : "false";
    var expired = left <= 0;
    el.offer.dataset.expired = expired ? "true" : "false";
    if (expired && !el.accept.disabled) {
      el.accept.disabled = true;
      el.decline.disabled = true;
      // The worker expires it and the stream says so; look again in case that event is late.
      window.setTimeout(refresh, 1500);
    }
  }

  function renderTrip(ride) {
    var step = STEPS[ride.status] || null;
    var target = step && step.target === "dropoff" ? ride.dropoff : ride.pickup;
    el.tripKicker.textContent = "Ride #" + ride.id;
    el.tripTitle.textContent = step ? step.title : "Ride " + ride.status.replace("_", " ");
    el.tripPrice.textContent = money(ride.price_minor, ride.currency);
    el.targetLabel.textContent = step && step.target === "dropoff" ? "Drop-off" : "Pickup";
    el.targetCoords.textContent = coords(target);
    el.targetAway.textContent = loc.latest ? "· " + approxDistance(metresBetween(loc.latest, target)) + " from you" : "";
    var latlng = target.lat + "," + target.lng;
    el.navGeo.href = "geo:" + latlng + "?q=" + latlng;
    el.navOsm.href = "https://www.openstreetmap.org/directions?to=" + encodeURIComponent(latlng);
    var passenger = ride.passenger || {};
    el.passengerName.textContent = passenger.name || "—";
    el.passengerNumber.textContent = passenger.phone || "";
    el.passengerPhone.hidden = !passenger.phone;
    el.passengerPhone.href = passenger.phone ? "tel:" + passenger.phone.replace(/[^\d+]/g, "") : "#";
    el.tripNotesRow.hidden = !ride.notes;
    el.tripNotes.textContent = ride.notes || "";
    el.step.hidden = !step;
    if (step) {
      el.step.textContent = step.label;
      el.step.dataset.step = step.step;
    }
    el.release.hidden = !RELEASABLE[ride.status];
    if (!state.busy) {
      el.step.disabled = false;
      el.release.disabled = false;
    }
  }

  /* ------------------------------------------------------------------ actions */

  function withButtons(buttons, work) {
    state.busy = true;
    buttons.forEach(function (b) {
      b.disabled = true;
    });
    return work()
      .catch(function () {
        note("No connection. Try again when you are back online.", "warn");
      })
      .finally(function () {
        state.busy = false;
        buttons.forEach(function (b) {
          b.disabled = false;
        });
      });
  }

  el.dutyBtn.addEventListener("click", function () {
    var to = el.dutyBtn.dataset.to;
    if (to === "available" && loc.mode === "prompt") startLocation(); // a tap is the moment to ask
    withButtons([el.dutyBtn], function () {
      return call("POST", API + "/status", { status: to }).then(function (result) {
        if (!result.ok) return note(problemText(result), "warn");
        localChanges++;
        state.status = result.data.status;
        el.note.hidden = true;
        renderDuty();
        refresh();
      });
    });
  });

  el.accept.addEventListener("click", function () {
    var offer = state.offer;
    if (!offer) return;
    state.acted["offer:" + offer.id] = true;
    withButtons([el.accept, el.decline], function () {
      return call("POST", API + "/offers/" + offer.id + "/accept").then(function (result) {
        localChanges++;
        if (result.ok) {
          el.note.hidden = true;
          state.offer = null;
          state.ride = result.data;
          state.status = "busy";
          render();
        } else if (result.status === 409 || result.status === 404) {
          note("Too late: this offer expired or was withdrawn. The next one will show up here.", "warn");
        } else {
          note(problemText(result), "warn");
        }
        refresh();
      });
    });
  });

  el.decline.addEventListener("click", function () {
    var offer = state.offer;
    if (!offer) return;
    state.acted["offer:" + offer.id] = true;
    withButtons([el.accept, el.decline], function () {
      return call("POST", API + "/offers/" + offer.id + "/decline").then(function (result) {
        if (result.ok) note("Offer declined. You stay available for the next one.", "info", 6000);
        else if (result.status === 409 || result.status === 404) note("That offer had already ended.", "info", 6000);
        else note(problemText(result), "warn");
        localChanges++;
        state.offer = null;
        render();
        refresh();
      });
    });
  });

  el.step.addEventListener("click", function () {
    var ride = state.ride;
    var step = el.step.dataset.step;
    if (!ride || !step) return;
    if (step === "complete") state.acted["ride:" + ride.id] = true;
    withButtons([el.step, el.release], function () {
      return call("POST", API + "/bookings/" + ride.id + "/" + step).then(function (result) {
        if (!result.ok) {
          delete state.acted["ride:" + ride.id];
          note(problemText(result), "warn");
        } else if (step === "complete") {
          localChanges++;
          note("Ride complete: " + money(ride.price_minor, ride.currency) + ". You are available again.", "ok", 15000);
          state.ride = null;
          state.status = "available";
          render();
        } else {
          localChanges++;
          el.note.hidden = true;
          state.ride = result.data;
          render();
        }
        refresh();
      });
    });
  });

  el.release.addEventListener("click", function () {
    el.dialogForm.reset();
    el.dialogError.hidden = true;
    if (typeof el.dialog.showModal === "function") el.dialog.showModal();
  });

  el.dialogForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var submitter = event.submitter;
    if (!submitter || submitter.value !== "release") {
      el.dialog.close();
      return;
    }
    var ride = state.ride;
    var chosen = el.dialogForm.querySelector('input[name="reason"]:checked');
    if (!ride || !chosen) return;
    var details = el.dialogDetails.value.trim();
    var reason = chosen.value + (details ? ": " + details : "");
    state.acted["ride:" + ride.id] = true;
    submitter.disabled = true;
    call("POST", API + "/bookings/" + ride.id + "/cancel", { reason: reason.slice(0, 500) })
      .then(function (result) {
        if (!result.ok) {
          delete state.acted["ride:" + ride.id];
          el.dialogError.textContent = problemText(result);
          el.dialogError.hidden = false;
          return;
        }
        localChanges++;
        el.dialog.close();
        note("You gave the ride back; another driver is asked. You are available again.", "info", 10000);
        state.ride = null;
        state.status = "available";
        render();
        refresh();
      })
      .catch(function () {
        delete state.acted["ride:" + ride.id];
        el.dialogError.textContent = "No connection. Try again when you are back online.";
        el.dialogError.hidden = false;
      })
      .finally(function () {
        submitter.disabled = false;
      });
  });

  el.logout.addEventListener("submit", function (event) {
    if (state.ride && !window.confirm("You have a ride in hand. Sign out anyway? It stays yours.")) {
      event.preventDefault();
    }
  });

  /* ------------------------------------------------------------------ telling the driver: vibration, a chime */

  var audio = null;

  /* Browsers let a page make sound only after the user touched it: start the audio then. */
  function unlockAudio() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try {
      if (!audio) audio = new Context();
      if (audio.state === "suspended") audio.resume().catch(function () {});
    } catch (e) {
      audio = null;
    }
  }

  ["pointerdown", "keydown", "touchend"].forEach(function (name) {
    document.addEventListener(name, unlockAudio, { capture: true, passive: true });
  });

  function chime() {
    if (!audio || audio.state !== "running") return false;
    var start = audio.currentTime + 0.02;
    [880, 1175].forEach(function (frequency, i) {
      var at = start + i * 0.2;
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.35, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(at);
      osc.stop(at + 0.2);
    });
    return true;
  }

  function vibrate() {
    // Without a tap first, browsers refuse (and complain in the console): do not ask then.
    var activated = !navigator.userActivation || navigator.userActivation.hasBeenActive;
    if (!navigator.vibrate || !activated) return false;
    try {
      return navigator.vibrate([250, 120, 250]);
    } catch (e) {
      return false;
    }
  }

  function announceOffer(offer) {
    alerts.push({ offer: offer.id, vibrated: vibrate(), sounded: chime() });
  }

  /* ------------------------------------------------------------------ the live stream */

  var stream = null;

  function connect() {
    stream = openStream(STREAM_URL, {
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

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    refresh();
    if (stream && stream.isDown()) stream.restart();
    keepAwake();
    flushNow();
  });

  /* Keep the screen on while the page is open: a sleeping phone takes no offers. */
  var wakeLock = null;

  function keepAwake() {
    if (!navigator.wakeLock || wakeLock || document.visibilityState !== "visible") return;
    navigator.wakeLock
      .request("screen")
      .then(function (lock) {
        wakeLock = lock;
        lock.addEventListener("release", function () {
          wakeLock = null;
        });
      })
      .catch(function () {});
  }

  /* ------------------------------------------------------------------ the phone's position */

  var loc = (window.hexfleetDriver.location = {
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
  });

  function setLocation(mode) {
    loc.mode = mode;
    renderLocation();
  }

  function renderLocation() {
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

  function startLocation() {
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

  function stopLocation() {
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
    showMe(fix);
    if (state.ride) renderTrip(state.ride);
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
  function heartbeat() {
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

  function flushNow() {
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
          if (first) renderDuty();
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

  el.locationBtn.addEventListener("click", startLocation);

  function checkPermission() {
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

  /* ------------------------------------------------------------------ the map */

  var map = null;
  var layers = { me: null, accuracy: null, pickup: null, dropoff: null };
  var followMe = true;
  var mapEl = $("d-map");

  if (window.L && mapEl) {
    map = L.map(mapEl, { zoomControl: false, attributionControl: !!config.tile_url });
    L.control.zoom({ position: "topright" }).addTo(map);
    if (config.tile_url) {
      map.attributionControl.setPrefix(false);
      L.tileLayer(config.tile_url, { maxZoom: 19, attribution: config.tile_attribution, crossOrigin: true }).addTo(map);
    }
    map.setView(config.center, 14);
    map.on("dragstart", function () {
      followMe = false;
    });
    window.hexfleetDriver.map = map;
    var resizing = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizing);
      resizing = window.setTimeout(frame, 100); // a turned phone: the same points, framed anew
    });
  }

  function pin(kind, letter, label) {
    return L.marker([0, 0], {
      icon: L.divIcon({
        className: "d-pin-icon",
        html: '<div class="d-pin d-pin-' + kind + '"><span>' + letter + "</span></div>",
        iconSize: [30, 30],
        iconAnchor: [15, 36],
      }),
      title: label,
      alt: label,
      keyboard: false,
    });
  }

  function place(name, factory, point) {
    if (!map) return;
    if (!point) {
      if (layers[name]) layers[name].remove();
      layers[name] = null;
      return;
    }
    if (!layers[name]) layers[name] = factory().addTo(map);
    layers[name].setLatLng([point.lat, point.lng]);
  }

  function showMe(fix) {
    if (!map) return;
    if (!layers.me) {
      layers.accuracy = L.circle([fix.lat, fix.lng], {
        radius: 1, stroke: false, fillColor: "#2563eb", fillOpacity: 0.12, interactive: false,
      }).addTo(map);
      layers.me = L.circleMarker([fix.lat, fix.lng], {
        radius: 8, color: "#ffffff", weight: 3, fillColor: "#2563eb", fillOpacity: 1, interactive: false,
      }).addTo(map);
    }
    layers.me.setLatLng([fix.lat, fix.lng]);
    layers.accuracy.setLatLng([fix.lat, fix.lng]);
    layers.accuracy.setRadius(Math.min(fix.accuracy_m || 0, 2000));
    if (!state.offer && !state.ride && followMe) map.setView([fix.lat, fix.lng], Math.max(map.getZoom(), 15));
  }

  var framedFor = null;
  var framedPoints = [];

  function renderMap(viewChanged) {
    if (!map) return;
    if (viewChanged) {
      // The map's share of the screen depends on the view.
      window.setTimeout(function () {
        map.invalidateSize();
      }, 0);
    }
    var ride = state.ride;
    var offer = state.offer;
    var pickup = ride ? ride.pickup : offer ? offer.booking.pickup : null;
    var dropoff = ride ? ride.dropoff : offer ? offer.booking.dropoff : null;
    var target = null;
    if (ride) target = (STEPS[ride.status] || {}).target === "dropoff" ? dropoff : pickup;
    // On a trip, show where to go now; on an offer, the pickup and where the ride goes.
    if (ride && target === dropoff) pickup = null;
    place("pickup", function () {
      return pin("pickup", "P", "Pickup");
    }, pickup);
    place("dropoff", function () {
      return pin("dropoff", "D", "Drop-off");
    }, dropoff && (!ride || target === dropoff) ? dropoff : null);
    var key = ride ? "ride:" + ride.id + ":" + ride.status : offer ? "offer:" + offer.id : "idle";
    if (key === framedFor) return;
    framedFor = key;
    var points = [];
    if (layers.me) points.push(layers.me.getLatLng());
    if (layers.pickup) points.push(layers.pickup.getLatLng());
    if (layers.dropoff) points.push(layers.dropoff.getLatLng());
    if (key === "idle") {
      followMe = true;
      if (layers.me) map.setView(layers.me.getLatLng(), Math.max(map.getZoom(), 15), { animate: false });
      return;
    }
    framedPoints = points;
    window.setTimeout(frame, 0);
  }

  /* Fit the offer's or the ride's points into the map; pins stand above their point. */
  function frame() {
    map.invalidateSize();
    var points = framedPoints;
    if (!points.length || framedFor === "idle") return;
    if (points.length === 1) map.setView(points[0], 15, { animate: false });
    else map.fitBounds(L.latLngBounds(points), { paddingTopLeft: [36, 60], paddingBottomRight: [36, 24], maxZoom: 16, animate: false });
  }

  /* ------------------------------------------------------------------ start */

  window.setInterval(function () {
    tickCountdown();
    if (loc.mode === "sending") renderLocation();
    heartbeat();
  }, 500);
  window.setInterval(refresh, SAFETY_REFRESH_MS);

  renderDuty();
  renderLocation();
  showStreamStatus(el.live, "connecting");
  refresh().then(function () {
    connect();
    checkPermission();
    keepAwake();
  });
}
