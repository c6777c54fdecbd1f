/* The driver app's page: its settings (#d-config), its elements, and what it knows.
 *
 * Nothing is kept here that the server does not also know: a reload, a lost network or a
 * phone that slept shows the current offer or ride again (sync.js). */

export const root = document.getElementById("driver-app");
const configEl = document.getElementById("d-config");
export const config = configEl ? JSON.parse(configEl.textContent) : {};

export const API = "/api/v1/driver";

/** What the driver does next on a ride, by its status; where they drive to. */
export const STEPS = {
  assigned: { step: "arrived", label: "I have arrived", title: "Drive to the pickup", target: "pickup" },
  arrived: { step: "start", label: "Start the trip", title: "Waiting at the pickup", target: "pickup" },
  in_progress: { step: "complete", label: "Complete the trip", title: "Drive to the drop-off", target: "dropoff" },
};
export const RELEASABLE = { assigned: 1, arrived: 1 };

function $(id) {
  return document.getElementById(id);
}

export const el = {
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
  targetAway: $("d-target-away"),
  thenRow: $("d-then-row"),
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

export const state = {
  status: config.status,
  // Available by choice, but dispatch has no fresh position from this phone yet: no offers.
  waitingForGps: !!config.waiting_for_gps,
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

/** Offers announced (vibration, chime): for tests. */
export const alerts = [];
