/* The staff stream (/api/v1/stream/bookings as a dispatcher): one connection for what the
 * control room hears of rides, `booking` events for the Bookings tab and `alert` events for the
 * Alerts tab. Modules register before it starts (main.js starts it last). */

import { openStream } from "../lib/stream.js";

const handlers = { booking: [], alert: [], status: [], open: [] };

/** on("booking" | "alert", (data) => ...), on("status", (status) => ...), on("open", (recovered) => ...). */
export function onStaff(name, handler) {
  handlers[name].push(handler);
}

function each(name, value) {
  handlers[name].forEach((handler) => {
    try {
      handler(value);
    } catch (error) {
      console.error(error); // one module's fault never silences the others
    }
  });
}

export function startStaffStream() {
  return openStream("/api/v1/stream/bookings", {
    events: {
      booking: (data) => data && each("booking", data),
      alert: (data) => data && each("alert", data),
    },
    onStatus: (status) => each("status", status),
    // Events sent while we were away are not replayed: each module catches up.
    onOpen: (recovered) => each("open", recovered),
  });
}
