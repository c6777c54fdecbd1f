/* Booking what can be served (/ride): what a quote for now says when no driver of its class is
 * near (its `availability`, or a booking's 409 no-driver-near), in the words a rider reads.
 */

/** Whether booking this quote now needs the rider's confirmation. */
export function needsConfirmation(quote) {
  return !!(quote && !quote.pickup_at && quote.availability && quote.availability.needs_confirmation);
}

/** "we'll keep looking for 5 minutes" (hexfleet.rides.patience.keep_looking_phrase, said by us). */
export function keepLookingPhrase(minutes) {
  if (!(minutes > 0)) return "nobody may be found unless a driver comes near now";
  return "we'll keep looking for " + minutes + " minute" + (minutes === 1 ? "" : "s");
}

/** "No XL car is near" from the server's notice ("No XL car is near: dispatch will …"). */
export function nobodyNear(notice) {
  const head = (notice || "").split(":")[0].trim();
  return head || "No driver of this class is near";
}

/** What the confirmation says: "No XL car is near: we'll keep looking for 5 minutes." */
export function confirmText(notice, minutes) {
  return nobodyNear(notice) + ": " + keepLookingPhrase(minutes) + ".";
}

/**
 * Show a quote's availability in `box` (the notice in the price): hidden when a driver is near;
 * otherwise who is missing, how long we keep looking, and a button per class that has a driver
 * near (onSuggest(vehicleClass) re-quotes it). labels: vehicle class → its name ("XL").
 */
export function showAvailability(box, quote, labels, onSuggest) {
  box.replaceChildren();
  if (!needsConfirmation(quote)) {
    box.hidden = true;
    return;
  }
  const a = quote.availability;
  const title = document.createElement("p");
  title.className = "rd-availability-title";
  title.textContent = nobodyNear(a.notice) + " right now.";
  const body = document.createElement("p");
  body.className = "rd-availability-body";
  body.textContent = "If you book it now, " + keepLookingPhrase(a.keep_looking_minutes) + ".";
  box.append(title, body);
  const suggested = (a.suggested_classes || []).filter((c) => labels[c]);
  if (suggested.length) {
    const row = document.createElement("div");
    row.className = "rd-availability-suggest";
    const lead = document.createElement("span");
    lead.textContent = suggested.length === 1 ? "A driver is near for" : "Drivers are near for";
    row.append(lead);
    suggested.forEach((vehicleClass) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-secondary btn-sm";
      button.dataset.suggest = vehicleClass;
      button.textContent = labels[vehicleClass];
      button.addEventListener("click", () => onSuggest(vehicleClass));
      row.append(button);
    });
    box.append(row);
  }
  box.hidden = false;
}
