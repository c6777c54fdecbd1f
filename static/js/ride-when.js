/* When the ride is for (/ride): now, or a pickup time in the rider's own zone within the
 * server's window (hexfleet.rides.windows: 15 minutes to 30 days ahead). */

function pad(n) {
  return (n < 10 ? "0" : "") + n;
}

/** A Date as a datetime-local input's value, in the browser's zone: "2030-01-31T18:30". */
export function localInputValue(date) {
  return (
    date.getFullYear() +
    "-" + pad(date.getMonth() + 1) +
    "-" + pad(date.getDate()) +
    "T" + pad(date.getHours()) +
    ":" + pad(date.getMinutes())
  );
}

/** "2030-01-31T18:30" typed in the rider's zone → "2030-01-31T18:30:00+01:00". */
export function rfc3339(date) {
  let offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  offset = Math.abs(offset);
  return localInputValue(date) + ":00" + sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60);
}

/**
 * The form's "when": its radios (name="when"), the pickup time field and its message.
 * options: form, field (the datetime-local input), panel (shown for "later"), message, zoneName
 * (an element for "(Europe/Berlin time)"), window {min_ahead_s, max_ahead_s}, say(el, text),
 * onChange(later) (the choice or the time changed; `valid`: a time in the window, or "now").
 * Returns {later(), date(quiet)}: date is the scheduled pickup (a Date) in the window, else null
 * (and, unless quiet, the message says why).
 */
export function whenField({ form, field, panel, message, zoneName, window: span, say, onChange }) {
  const later = () => {
    const checked = form.querySelector('input[name="when"]:checked');
    return !!checked && checked.value === "later";
  };

  function date(quiet) {
    if (!later()) return null;
    const fail = (text) => {
      if (!quiet) say(message, text);
      return null;
    };
    if (!field.value) return fail("Choose the date and time of the pickup.");
    const at = new Date(field.value);
    if (isNaN(at.getTime())) return fail("That is not a date and time.");
    const ahead = (at.getTime() - Date.now()) / 1000;
    if (ahead < span.min_ahead_s) return fail("Choose a time at least 15 minutes from now.");
    if (ahead > span.max_ahead_s) return fail("You can book at most 30 days ahead.");
    say(message, "");
    return at;
  }

  function setWindow() {
    field.min = localInputValue(new Date(Date.now() + (span.min_ahead_s + 60) * 1000));
    field.max = localInputValue(new Date(Date.now() + span.max_ahead_s * 1000 - 60000));
    if (!field.value) {
      const first = new Date(Date.now() + 30 * 60000);
      first.setMinutes(Math.ceil(first.getMinutes() / 5) * 5, 0, 0);
      field.value = localInputValue(first);
    }
  }

  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zoneName && zone) zoneName.textContent = "(" + zone.replace(/_/g, " ") + " time)";
  } catch (error) {
    /* no zone name: the field still works in local time */
  }

  form.querySelectorAll('input[name="when"]').forEach((radio) => {
    radio.addEventListener("change", () => {
      panel.hidden = !later();
      if (later()) setWindow();
      else say(message, "");
      onChange(later(), true);
    });
  });
  field.addEventListener("change", () => onChange(true, !!date(false)));

  return { later, date };
}
