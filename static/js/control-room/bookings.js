/* Bookings: the queue and the booking card (htmx partials), re-rendered when the staff stream
 * (staff-stream.js: /api/v1/stream/bookings) says something changed (no polling), and their countdowns.
 *
 * A live refresh never throws away what the dispatcher is doing: not while they type or have
 * typed into the card (a cancel reason, a driver number), not while one of its forms is being
 * sent, and a refresh overtaken by the card's own answer is dropped. */

import { duration } from "../lib/format.js";
import { serverNow } from "../lib/server-clock.js";
import { clearBookingLayers, drawSelectedBooking } from "./booking-map.js";
import { bindPhoneForm, clearDraftPins, stopPicking } from "./phone-booking.js";
import { onStaff } from "./staff-stream.js";

const REFRESH_DELAY_MS = 250; // a burst of events becomes one request
const LIVE_WORDS = { connected: "live", reconnecting: "reconnecting…", down: "reconnecting…" };

let refreshTimer = null;
let cardSwaps = 0; // card swaps so far: a refresh asked before the last one is stale
const OUTCOME_KEEP_MS = 30000; // what an action did stays on its card through live refreshes this long
let lastOutcome = null; // {bookingId, node, at}: the last action's outcome line
let openedBefore = []; // ids of the card's <details> open before a swap

function selectedInput() {
  return document.getElementById("selected-booking");
}

function selectedBookingId() {
  const input = selectedInput();
  return input && input.value ? Number(input.value) : null;
}

function markSelectedRows() {
  const id = selectedBookingId();
  document.querySelectorAll(".booking-row").forEach((row) => {
    const on = Number(row.dataset.bookingId) === id;
    row.classList.toggle("is-selected", on);
    row.setAttribute("aria-pressed", on ? "true" : "false");
  });
}

/** Open a booking's card (the queue's rows, and the Alerts tab's "Booking #12"). */
export function selectBooking(id) {
  const input = selectedInput();
  if (input) input.value = String(id);
  markSelectedRows();
  window.htmx.ajax("GET", "/ui/bookings/" + id, { target: "#booking-slot", swap: "innerHTML" });
}

function closeBooking() {
  const input = selectedInput();
  if (input) input.value = "";
  const slot = document.getElementById("booking-slot");
  if (slot) slot.innerHTML = "";
  stopPicking();
  clearBookingLayers();
  clearDraftPins();
  markSelectedRows();
}

/** "12 s left", "4 min 58 s left", "expired": offers and held prices, by the server's clock. */
function tickCountdowns() {
  const now = serverNow();
  document.querySelectorAll(".countdown[data-expires]").forEach((el) => {
    const left = Math.round((Date.parse(el.dataset.expires) - now) / 1000);
    el.textContent = left > 0 ? duration(left, { precise: true }) + " left" : "expired";
    el.classList.toggle("is-expired", left <= 0);
  });
}

function cardIsBusy(card) {
  if (card.querySelector(".htmx-request") || card.classList.contains("htmx-request")) return true;
  return Array.from(card.querySelectorAll("input, textarea, select")).some((field) => {
    if (field === document.activeElement && field.type !== "submit") return true;
    return (field.tagName === "INPUT" || field.tagName === "TEXTAREA") && field.value !== field.defaultValue;
  });
}

function refreshSoon(bookingId) {
  if (refreshTimer) window.clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(() => {
    refreshTimer = null;
    window.htmx.trigger(document.body, "bookings-changed");
    const card = document.getElementById("booking-detail");
    if (!card || Number(card.dataset.bookingId) !== bookingId) return;
    if (cardIsBusy(card)) {
      const note = card.querySelector(".outdated-note"); // the queue row shows the new state meanwhile
      if (note) note.hidden = false;
      return;
    }
    window.htmx.ajax("GET", "/ui/bookings/" + bookingId, {
      target: "#booking-detail",
      swap: "outerHTML",
      headers: { "HX-Refresh-Of": String(cardSwaps) },
    });
  }, REFRESH_DELAY_MS);
}

function afterQueueSwap() {
  markSelectedRows();
  const body = document.getElementById("booking-queue-body");
  const attention = body ? Number(body.dataset.attention) || 0 : 0;
  const badge = document.getElementById("bookings-attention");
  if (badge) {
    badge.hidden = attention === 0;
    badge.textContent = String(attention);
    badge.setAttribute("aria-label", attention + " need attention");
  }
  tickCountdowns();
}

/** The panel's part that scrolls (the Bookings tab on a desktop, the whole sheet on a phone). */
function scroller(el) {
  for (let parent = el.parentElement; parent; parent = parent.parentElement) {
    const overflow = window.getComputedStyle(parent).overflowY;
    if (overflow === "auto" || overflow === "scroll") return parent;
  }
  return null;
}

/** Show the card's top (toTop), or at least some of it, scrolling the panel only: scrollIntoView
 * would scroll the page and the panel's clipped boxes too, and push the top bar out of sight. */
function scrollToCard(card, toTop) {
  const box = scroller(card);
  if (!box) return;
  const margin = parseFloat(window.getComputedStyle(card).scrollMarginTop) || 0;
  const top = card.getBoundingClientRect().top - box.getBoundingClientRect().top - margin;
  const hidden = top < 0 || card.getBoundingClientRect().top > box.getBoundingClientRect().bottom - 80;
  if (toTop || hidden) box.scrollTop += top;
}

/** A live refresh of the card an action was just taken on: its outcome stays the first line. */
function keepOutcome(card) {
  if (!lastOutcome || lastOutcome.bookingId !== card.dataset.bookingId) return;
  if (Date.now() - lastOutcome.at > OUTCOME_KEEP_MS) return;
  const head = card.querySelector(".detail-head");
  if (head) head.after(lastOutcome.node.cloneNode(true));
}

function afterCardSwap() {
  cardSwaps += 1;
  const card = document.getElementById("booking-detail");
  if (card && card.dataset.bookingId) {
    const input = selectedInput();
    if (input) input.value = card.dataset.bookingId;
    clearDraftPins(); // a booking made from the form: its own pins take over
  }
  // After an action the outcome is the card's first line: bring the card's top into view and
  // give the outcome the focus (the button pressed is gone), so nothing of the old card is left
  // under the pointer or the keyboard. The live refreshes that follow keep it there a while.
  const outcome = card && card.querySelector(".card-outcome");
  if (outcome) {
    lastOutcome = { bookingId: card.dataset.bookingId, node: outcome.cloneNode(true), at: Date.now() };
    scrollToCard(card, true);
    outcome.focus({ preventScroll: true });
  } else if (card) {
    keepOutcome(card);
    openedBefore.forEach((id) => {
      const details = document.getElementById(id);
      if (details && card.contains(details)) details.open = true;
    });
    scrollToCard(card, false);
  }
  openedBefore = [];
  markSelectedRows();
  drawSelectedBooking();
  bindPhoneForm();
  tickCountdowns();
}

function followBookings() {
  const label = document.getElementById("queue-live");
  onStaff("booking", (data) => refreshSoon(data.booking_id));
  onStaff("status", (status) => {
    if (label) label.textContent = LIVE_WORDS[status] || status;
  });
  onStaff("open", (recovered) => {
    // Events sent while we were away are not replayed: catch up.
    if (recovered) window.htmx.trigger(document.body, "bookings-changed");
  });
}

export function startBookings() {
  document.addEventListener("click", (event) => {
    const row = event.target.closest(".booking-row[data-booking-id]");
    if (row) {
      selectBooking(Number(row.dataset.bookingId));
      return;
    }
    if (event.target.closest("[data-action='close-booking']")) {
      closeBooking();
      return;
    }
    if (event.target.closest("[data-action='reload-booking']")) {
      const id = selectedBookingId();
      if (id) selectBooking(id);
    }
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    const target = event.target;
    if (!target) return;
    if (target.id === "booking-queue") afterQueueSwap();
    if (target.id === "booking-slot" || target.id === "booking-detail" || target.closest("#booking-slot")) afterCardSwap();
  });
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    // A refresh keeps what the dispatcher unfolded ("Give the ride to another driver").
    const before = document.getElementById("booking-detail");
    openedBefore = before ? Array.from(before.querySelectorAll("details[open][id]"), (d) => d.id) : [];
    const headers = event.detail.requestConfig && event.detail.requestConfig.headers;
    const refreshOf = headers && headers["HX-Refresh-Of"];
    if (refreshOf === undefined) return;
    const card = document.getElementById("booking-detail");
    if (Number(refreshOf) !== cardSwaps || (card && cardIsBusy(card))) event.detail.shouldSwap = false;
  });
  window.setInterval(tickCountdowns, 1000);
  followBookings(); // the queue loads itself (hx-trigger "load"), then follows the staff stream's events
}
