/* hexfleet: a customer's rides (/rides), kept current without polling.
 *
 * Follows /api/v1/stream/bookings (the customer's own booking events, over the session
 * cookie) and asks htmx to fetch the list again (/ui/rides) when one arrives. While a
 * cancel form is open the refresh waits, so it never closes under the rider's finger.
 * Times, prices and distances in the list are shown by page.js (lib/format.js).
 */

import { showStreamStatus } from "./lib/live.js";
import { goToLogin, leaveWhenPartialsSignedOut } from "./lib/session.js";
import { openStream } from "./lib/stream.js";

const list = document.getElementById("rides-list");
const indicator = document.getElementById("live-indicator");

if (list && window.htmx && window.EventSource) start();

function start() {
  let pending = false;
  let timer = null;
  window.hexfleetRides = { refreshes: 0 };

  const busy = () => !!list.querySelector("details.rd-cancel[open]");

  function refresh() {
    timer = null;
    if (busy()) {
      pending = true;
      return;
    }
    pending = false;
    window.hexfleetRides.refreshes++;
    window.htmx.trigger(list, "rides-changed");
  }

  function refreshSoon() {
    // A burst of events (offered, assigned, ...) becomes one request.
    if (!timer) timer = window.setTimeout(refresh, 250);
  }

  list.addEventListener(
    "toggle",
    (event) => {
      if (event.target.matches("details.rd-cancel") && !event.target.open && pending) refreshSoon();
    },
    true,
  );

  /** Before trying the stream again: a session that ended goes to the sign-in page. */
  function checkSession() {
    return fetch("/ui/rides", { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then((response) => {
        if (response.status === 401 || new URL(response.url).pathname === "/login") goToLogin();
      })
      .catch(() => {});
  }

  leaveWhenPartialsSignedOut();
  openStream(list.dataset.streamUrl, {
    events: { booking: refreshSoon },
    onStatus: (status) => showStreamStatus(indicator, status),
    onOpen: (recovered) => {
      if (recovered) refreshSoon(); // events missed while away are not replayed
    },
    beforeRetry: checkSession,
  });
}
