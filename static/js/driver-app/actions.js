/* The driver's taps: duty, accept or decline an offer, the ride's next step, give a ride back,
 * sign out. Each answer is shown at once; sync.js then fetches the state again. */

import { money } from "../lib/format.js";
import { call, problemText } from "./api.js";
import { loc, startLocation } from "./location.js";
import { hideNote, note } from "./note.js";
import { API, el, state } from "./state.js";
import { changedHere, refresh, watchForGps } from "./sync.js";
import { render, renderDuty } from "./views.js";

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

export function startActions() {
  el.dutyBtn.addEventListener("click", function () {
    var to = el.dutyBtn.dataset.to;
    if (to === "available" && loc.mode === "prompt") startLocation(); // a tap is the moment to ask
    withButtons([el.dutyBtn], function () {
      return call("POST", API + "/status", { status: to }).then(function (result) {
        if (!result.ok) return note(problemText(result), "warn");
        changedHere();
        state.status = result.data.status;
        state.waitingForGps = !!result.data.waiting_for_gps;
        watchForGps();
        hideNote();
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
        changedHere();
        if (result.ok) {
          hideNote();
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
        changedHere();
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
          changedHere();
          note("Ride complete: " + money(ride.price_minor, ride.currency) + ". You are available again.", "ok", 15000);
          state.ride = null;
          state.status = "available";
          render();
        } else {
          changedHere();
          hideNote();
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
        changedHere();
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
}
