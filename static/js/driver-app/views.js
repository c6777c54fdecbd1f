/* What the driver sees: idle (duty), an offer (price, distance, countdown) or the trip (where to
 * go, the passenger, the next step), from the state sync.js fetched. */

import { distance, minutes, money, time, timeTitle } from "../lib/format.js";
import { metresBetween } from "../lib/geo.js";
import { serverNow } from "../lib/server-clock.js";
import { announceOffer } from "./alerts.js";
import { loc } from "./location.js";
import { renderMap } from "./map.js";
import { note } from "./note.js";
import { showPlace } from "./place-names.js";
import { RELEASABLE, STEPS, config, el, root, state } from "./state.js";

let whenExpired = () => {};

/** What to do when the offer on screen runs out (look again: the expiry event may be late). */
export function onOfferExpired(handler) {
  whenExpired = handler;
}

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

/* Without a routing server the platform estimates road distance and time the same way
   (README, "Distance and duration"): great-circle distance × DETOUR_FACTOR at AVERAGE_SPEED_KMH. */
function roadMetres(from, to) {
  return metresBetween(from, to) * (config.detour_factor || 1.3);
}

function estimateSeconds(straightMetres) {
  if (straightMetres === null || straightMetres === undefined) return null;
  return (straightMetres * (config.detour_factor || 1.3)) / (((config.average_speed_kmh || 25) * 1000) / 3600);
}

export function render() {
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

const STATUS_WORDS = { available: "Available", busy: "Busy", off_duty: "Off duty" };
/* What to do while waiting for GPS, by what the location card says. */
const WAITING_ADVICE = {
  prompt: "Share your location below.",
  denied: "Location is off for this page: see below how to turn it on.",
  unavailable: "Your phone cannot find its position: see below.",
  sending: "Keep location on and this page open.",
};

export function renderDuty() {
  var status = state.status;
  // Available by choice, but dispatch has no fresh position from this phone: say so, not "Available".
  var waiting = status === "available" && state.waitingForGps;
  el.status.className = "badge badge-" + (waiting ? "waiting" : status);
  el.status.textContent = waiting ? "Waiting for GPS" : STATUS_WORDS[status] || status;
  var text;
  if (status === "available") {
    if (!waiting) {
      text = "You are available. Ride offers appear here: keep this page open.";
    } else {
      text = "Waiting for your phone's position: ride offers come once it reaches dispatch. " + WAITING_ADVICE[
        loc.mode === "prompt" || loc.mode === "denied" || loc.mode === "unavailable" ? loc.mode : "sending"
      ];
    }
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
  el.duty.dataset.waiting = waiting ? "true" : "false";
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
  showPlace("d-offer-pickup", booking.pickup);
  showPlace("d-offer-dropoff", booking.dropoff);
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

export function tickCountdown() {
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
    window.setTimeout(whenExpired, 1500);
  }
}

export function renderTrip(ride) {
  var step = STEPS[ride.status] || null;
  var target = step && step.target === "dropoff" ? ride.dropoff : ride.pickup;
  el.tripKicker.textContent = "Ride #" + ride.id;
  el.tripTitle.textContent = step ? step.title : "Ride " + ride.status.replace("_", " ");
  el.tripPrice.textContent = money(ride.price_minor, ride.currency);
  el.targetLabel.textContent = step && step.target === "dropoff" ? "Drop-off" : "Pickup";
  showPlace("d-target", target);
  el.targetAway.textContent = loc.latest ? approxDistance(metresBetween(loc.latest, target)) + " from you" : "";
  // On the way to the pickup, where the ride goes next.
  el.thenRow.hidden = !(step && step.target === "pickup");
  if (!el.thenRow.hidden) showPlace("d-then", ride.dropoff);
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
