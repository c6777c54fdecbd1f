/* hexfleet: a customer's rides (/rides), kept current without polling.
 *
 * Follows /api/v1/stream/bookings (the customer's own booking events, over the session
 * cookie) and asks htmx to fetch the list again (/ui/rides) when one arrives. While a
 * cancel form is open the refresh waits, so it never closes under the rider's finger.
 */
(function () {
  "use strict";

  var R = window.hexfleetRider;
  var list = document.getElementById("rides-list");
  if (!list || !R || !window.htmx || !window.EventSource) return;

  var streamUrl = list.dataset.streamUrl;
  var source = null;
  var retryDelay = 1000;
  var hadError = false;
  var pending = false;
  var timer = null;
  window.hexfleetRides = { refreshes: 0 };

  function busy() {
    return !!list.querySelector("details.rd-cancel[open]");
  }

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
    function (event) {
      if (event.target.matches("details.rd-cancel") && !event.target.open && pending) refreshSoon();
    },
    true
  );

  function connect() {
    if (source) source.close();
    source = new EventSource(streamUrl, { withCredentials: true });
    source.addEventListener("open", function () {
      R.setLive("live", "live");
      retryDelay = 1000;
      if (hadError) refreshSoon(); // events missed while away are not replayed
      hadError = false;
    });
    source.addEventListener("booking", refreshSoon);
    source.addEventListener("error", function () {
      hadError = true;
      if (source.readyState === EventSource.CLOSED) {
        R.setLive("offline", "offline · retrying");
        window.setTimeout(function () {
          checkSession().then(connect);
        }, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30000);
      } else {
        R.setLive("reconnecting", "reconnecting…");
      }
    });
  }

  function checkSession() {
    return fetch("/ui/rides", { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) {
        var path = new URL(response.url).pathname;
        if (response.status === 401 || path === "/login") goToLogin();
      })
      .catch(function () {});
  }

  function goToLogin() {
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    // A session that expired answers with the login page: go there instead of swapping it in.
    var xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === "/login") {
      event.detail.shouldSwap = false;
      goToLogin();
    }
  });

  connect();
})();
