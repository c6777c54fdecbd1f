/* hexfleet: a ride's tracking link (/t/<token>), live.
 *
 * Shows the pickup and drop-off pins and, while a driver has the ride, the driver gliding
 * from fix to fix. Follows /api/v1/track/<token>/stream: `position` events move the driver
 * (and the ETA, estimated as the server does); `booking` events re-render the panel
 * (/t/<token>/panel, an htmx partial) and with it the status, timeline and driver. When the
 * link stops working (a new link was made, or the ride ended long enough ago), the stream
 * says `gone` and ends: the panel then shows why, and the page stops following.
 *
 * Times, the price and the distance in the panel are shown by page.js (lib/format.js).
 *
 * For tests: window.hexfleetTrack = {map, pins, driver: () => the driver's L.Marker or null}.
 */

import { minutes } from "./lib/format.js";
import { metresBetween } from "./lib/geo.js";
import { setLive, showStreamStatus } from "./lib/live.js";
import { openStream } from "./lib/stream.js";
import { driverIcon, makeMap, pinIcon } from "./rider-map.js";

const L = window.L;

main();

function main() {
  var root = document.getElementById("track");
  var mapEl = document.getElementById("track-map");
  var panel = document.getElementById("track-panel");
  if (!root || !mapEl || !panel || !window.L) return;
  var indicator = document.getElementById("live-indicator");

  var MAX_ANIMATION_MS = 1000;
  var d = mapEl.dataset;
  var pickup = L.latLng(parseFloat(d.pickupLat), parseFloat(d.pickupLng));
  var dropoff = L.latLng(parseFloat(d.dropoffLat), parseFloat(d.dropoffLng));
  var rules = { detour: parseFloat(d.detourFactor) || 1.3, speedKmh: parseFloat(d.averageSpeedKmh) || 25 };

  var map = makeMap(mapEl, {
    tileUrl: d.tileUrl,
    tileAttribution: d.tileAttribution,
    center: pickup,
    zoom: 14,
    advice: "The pickup, the drop-off and your driver are still shown.",
  });
  var pins = {
    pickup: L.marker(pickup, { icon: pinIcon("pickup"), keyboard: false, title: "Pickup" }).addTo(map),
    dropoff: L.marker(dropoff, { icon: pinIcon("dropoff"), keyboard: false, title: "Drop-off" }).addTo(map),
  };
  L.polyline([pickup, dropoff], {
    className: "hf-route-line",
    color: "#2563eb",
    weight: 3,
    opacity: 0.55,
    dashArray: "6 8",
    interactive: false,
  }).addTo(map);

  // "?renewed=1" only tells the rider (once) that this is their new link: keep it out of the
  // address they copy and share.
  if (window.location.search && window.history.replaceState) {
    window.history.replaceState(null, "", window.location.pathname);
  }

  var driver = null; // {marker, lastTs, anim}
  var state = readState();
  window.hexfleetTrack = {
    map: map,
    pins: pins,
    driver: function () {
      return driver ? driver.marker : null;
    },
  };

  function readState() {
    var el = document.getElementById("track-state");
    var s = el ? el.dataset : {};
    var lat = parseFloat(s.driverLat);
    var lng = parseFloat(s.driverLng);
    var heading = parseFloat(s.driverHeading);
    return {
      status: s.status || "",
      live: s.live === "true",
      etaTo: s.etaTo || "pickup",
      headline: s.headline || "",
      driver: isFinite(lat) && isFinite(lng) ? { lat: lat, lng: lng, heading: isFinite(heading) ? heading : null } : null,
    };
  }

  function fit() {
    var points = [pickup, dropoff];
    if (driver) points.push(driver.marker.getLatLng());
    map.fitBounds(L.latLngBounds(points), { padding: [56, 56], maxZoom: 16, animate: false });
  }

  /* ------------------------------------------------------------------ the driver */

  function showDriver(position) {
    var at = L.latLng(position.lat, position.lng);
    if (!driver) {
      var marker = L.marker(at, { icon: driverIcon(), keyboard: false, title: "Your driver", zIndexOffset: 1000 });
      driver = { marker: marker, lastTs: null, anim: null };
      marker.on("add", function () {
        marker.getElement().setAttribute("data-driver", "true");
        applyHeading(position.heading);
      });
      marker.addTo(map);
      fit();
    } else {
      glide(at);
    }
    applyHeading(position.heading);
    updateEta(at);
  }

  function hideDriver() {
    if (!driver) return;
    driver.marker.remove();
    driver = null;
  }

  function applyHeading(heading) {
    var el = driver && driver.marker.getElement();
    if (!el) return;
    var has = typeof heading === "number" && isFinite(heading);
    el.classList.toggle("has-heading", has);
    var body = el.querySelector(".hf-marker-body");
    if (body) body.style.transform = "rotate(" + (has ? heading : 0) + "deg)";
  }

  function glide(target) {
    var from = driver.marker.getLatLng();
    var ms = document.hidden || from.distanceTo(target) > 50000 ? 0 : MAX_ANIMATION_MS;
    driver.anim = { from: from, to: target, start: performance.now(), duration: ms };
    window.requestAnimationFrame(step);
  }

  function step(now) {
    if (!driver || !driver.anim) return;
    var a = driver.anim;
    var t = a.duration > 0 ? Math.min(1, (now - a.start) / a.duration) : 1;
    var k = 1 - (1 - t) * (1 - t);
    driver.marker.setLatLng([a.from.lat + (a.to.lat - a.from.lat) * k, a.from.lng + (a.to.lng - a.from.lng) * k]);
    if (t < 1) window.requestAnimationFrame(step);
    else driver.anim = null;
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && driver && driver.anim) {
      driver.marker.setLatLng(driver.anim.to);
      driver.anim = null;
    }
  });

  // The same estimate as hexfleet.rides.bookings.eta_seconds: great-circle × detour at the average speed.
  function updateEta(at) {
    var el = document.getElementById("eta");
    if (!el || state.status === "arrived") return;
    var target = state.etaTo === "dropoff" || state.status === "in_progress" ? dropoff : pickup;
    var where = target === dropoff ? "the drop-off" : "the pickup";
    var metres = metresBetween(at, target);
    var seconds = metres < 30 ? 0 : Math.ceil((metres * rules.detour) / (rules.speedKmh / 3.6));
    // Whole minutes, as the server's text (webapp/pages/tracking.py eta_text).
    el.textContent =
      seconds < 60 ? "Less than a minute to " + where : "About " + minutes(seconds) + " to " + where;
    el.hidden = false;
  }

  function onPosition(data) {
    if (!state.live || typeof data.lat !== "number" || typeof data.lng !== "number") return;
    var ts = Date.parse(data.ts);
    // Delivery is at-least-once and may reorder: never step back to an older fix.
    if (driver && isFinite(ts) && driver.lastTs !== null && ts <= driver.lastTs) return;
    showDriver(data);
    if (isFinite(ts)) driver.lastTs = ts;
  }

  /* ------------------------------------------------------------------ the panel */

  var refreshTimer = null;
  var pendingRefresh = false;
  var gone = false;

  function refreshPanel() {
    refreshTimer = null;
    if (panel.querySelector("details.rd-cancel[open]")) {
      pendingRefresh = true; // never re-render a form under the rider's finger
      return;
    }
    pendingRefresh = false;
    window.htmx.ajax("GET", root.dataset.panelUrl, { target: "#track-panel", swap: "innerHTML" });
  }

  function refreshSoon() {
    if (!refreshTimer) refreshTimer = window.setTimeout(refreshPanel, 150);
  }

  panel.addEventListener(
    "toggle",
    function (event) {
      if (event.target.matches("details.rd-cancel") && !event.target.open && pendingRefresh) refreshSoon();
    },
    true
  );

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target !== panel) return;
    var before = state;
    state = readState();
    if (state.status === "missing") {
      gone = true;
      if (stream) stream.close();
      hideDriver();
      setLive(indicator, "offline", "link no longer works");
      return;
    }
    if (!state.live) hideDriver();
    else if (state.driver && !driver) showDriver(state.driver);
    else if (driver) updateEta(driver.marker.getLatLng());
    if (state.headline && state.headline !== before.headline) {
      var announce = document.getElementById("track-announce");
      if (announce) announce.textContent = state.headline;
    }
  });

  /* ------------------------------------------------------------------ live connection */

  var stream = null;

  function followStream() {
    stream = openStream(root.dataset.streamUrl, {
      events: {
        position: function (data) {
          if (data) onPosition(data);
        },
        booking: refreshSoon,
        gone: function () {
          // The link was replaced or expired: stop reconnecting; the panel says which.
          gone = true;
          stream.close();
          if (refreshTimer) window.clearTimeout(refreshTimer);
          refreshTimer = null;
          pendingRefresh = false;
          window.htmx.ajax("GET", root.dataset.panelUrl, { target: "#track-panel", swap: "innerHTML" });
        },
      },
      onStatus: function (status) {
        if (!gone) showStreamStatus(indicator, status);
      },
      onOpen: function (recovered) {
        if (recovered) refreshSoon(); // changes missed while away are not replayed
      },
      // Closed for good (the link expired: 404, or the server is away): look at the panel
      // first (it says when the link no longer works), then try again.
      beforeRetry: function () {
        refreshPanel();
        return new Promise(function (resolve) {
          window.setTimeout(resolve, 500);
        });
      },
    });
  }

  if (state.live && state.driver) showDriver(state.driver);
  else fit();
  if (!gone) followStream();
}
