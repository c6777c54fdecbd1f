/* hexfleet rider pages: what the booking form, the rides list and the tracking page share.
 *
 * window.hexfleetRider = {csrfToken, localiseTimes, formatMoney, formatDuration, formatDistance,
 *                         makeMap, pinIcon, driverIcon, setLive, haversine, parse}
 */
(function () {
  "use strict";

  var R = (window.hexfleetRider = {});

  R.csrfToken = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };

  R.parse = function (text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  };

  /* ------------------------------------------------------------------ times in the rider's own zone */

  var FORMATS = {
    time: { hour: "2-digit", minute: "2-digit" },
    datetime: { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" },
  };

  // The server writes UTC (it does not know the rider's zone); the browser shows local time.
  R.localiseTimes = function (root) {
    (root || document).querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      var format = FORMATS[el.dataset.local] || FORMATS.datetime;
      try {
        el.textContent = new Intl.DateTimeFormat(undefined, format).format(when);
        el.title = when.toString();
      } catch (e) {
        /* keep the server's UTC text */
      }
    });
  };

  /* ------------------------------------------------------------------ numbers people read */

  // Exactly as the server's hexfleet.rides.money.format_amount: integer arithmetic, "12.40 EUR".
  R.formatMoney = function (minor, currency, exponent) {
    if (typeof minor !== "number" || !isFinite(minor)) return "";
    var exp = typeof exponent === "number" ? exponent : 2;
    var sign = minor < 0 ? "-" : "";
    var abs = Math.abs(Math.round(minor));
    var scale = Math.pow(10, exp);
    var whole = Math.floor(abs / scale);
    var fraction = String(abs % scale);
    while (fraction.length < exp) fraction = "0" + fraction;
    return sign + whole + (exp ? "." + fraction : "") + " " + currency;
  };

  R.formatDuration = function (seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
    var minutes = Math.max(1, Math.round(seconds / 60));
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    var rest = minutes % 60;
    return hours + " h" + (rest ? " " + rest + " min" : "");
  };

  R.formatDistance = function (metres) {
    if (typeof metres !== "number" || !isFinite(metres)) return "—";
    return metres < 1000 ? Math.round(metres) + " m" : (metres / 1000).toFixed(1) + " km";
  };

  R.haversine = function (lat1, lng1, lat2, lng2) {
    var rad = Math.PI / 180;
    var dLat = (lat2 - lat1) * rad;
    var dLng = (lng2 - lng1) * rad;
    var a =
      Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLng / 2) * Math.sin(dLng / 2);
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
  };

  /* ------------------------------------------------------------------ maps */

  R.makeMap = function (el, options) {
    var map = L.map(el, { zoomControl: false, attributionControl: true, worldCopyJump: true });
    L.control.zoom({ position: "topright" }).addTo(map);
    map.attributionControl.setPrefix(false);
    if (options.tileUrl) {
      // Tile errors (offline, blocked) are harmless: the container has its own background.
      L.tileLayer(options.tileUrl, { maxZoom: 19, attribution: options.tileAttribution || "", crossOrigin: true }).addTo(
        map
      );
    } else {
      el.classList.add("map-no-tiles");
    }
    if (options.center) map.setView(options.center, options.zoom || 14);
    return map;
  };

  R.pinIcon = function (kind) {
    return L.divIcon({
      className: "hf-pin hf-pin-" + kind,
      // The control room's A and B pins (app.css .hf-pin): the same look on every map.
      html: "<span><b>" + (kind === "pickup" ? "A" : "B") + "</b></span>",
      iconSize: [28, 28],
      iconAnchor: [14, 34], // the tip of the pin (a square turned 45°: 14 × √2 below its centre)
      tooltipAnchor: [0, -28],
    });
  };

  // The control room's driver marker (app.css .hf-marker), always "busy" for a rider.
  R.driverIcon = function () {
    return L.divIcon({
      className: "hf-marker status-busy hf-driver",
      html: '<span class="hf-marker-body"><span class="hf-nose"></span></span>',
      iconSize: [26, 26],
      iconAnchor: [13, 13],
    });
  };

  /* ------------------------------------------------------------------ the live indicator (top bar) */

  R.setLive = function (state, label) {
    var indicator = document.getElementById("live-indicator");
    if (!indicator) return;
    indicator.dataset.state = state;
    var text = indicator.querySelector(".live-label");
    if (text) text.textContent = label;
  };

  R.localiseTimes(document);
  document.addEventListener("htmx:afterSwap", function (event) {
    R.localiseTimes(event.target);
  });
})();
