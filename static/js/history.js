/* hexfleet history and replay (/history): the track, its stops and speeds, and a player.
 *
 * The page (webapp/pages/history.py) renders the form. With the dispatcher's zone known it
 * also gives the range as instants (data-from, data-to); without one (a first visit) this
 * file takes today so far in the browser's zone, fills the form and the URL in, and asks
 * /api/v1/drivers/<id>/history. Fixes arrive as rows of `columns` (t in epoch seconds).
 *
 * The player moves a marker along the track, in between fixes by their times, at 1x to
 * 300x real time; gaps of more than 5 minutes without a fix are skipped while playing.
 * Times show in the form's zone (the browser's), UTC on hover. Stops are named by the
 * nearest of the operator's places (the server's `label`), their coordinates on hover.
 * Tiles come through lib/tiles.js; without them the map draws the places by name
 * (lib/places-layer.js) around the track.
 *
 * For tests: window.hexfleetHistory = {map, marker, time(), playing(), fixes(), play(), pause(), seek(t)}.
 */

import { dateTime, distance, duration, number, sameDay, time, timeTitle, utcText } from "./lib/format.js";
import { escapeHtml } from "./lib/html.js";
import { showPlaces } from "./lib/places-layer.js";
import { addTiles } from "./lib/tiles.js";

const L = window.L;

function viewerZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return "";
  }
}

main();

function main() {
  var RATES = [1, 10, 60, 300];
  var DEFAULT_RATE = 60;
  var GAP_BAND = -1;
  var GAP_S = 300;

  var root = document.getElementById("history");
  var mapEl = document.getElementById("history-map");
  if (!root || !mapEl || !window.L) return;

  var form = document.getElementById("history-form");
  var fromInput = document.getElementById("from");
  var toInput = document.getElementById("to");
  var tzInput = document.getElementById("tz");
  var tzLabel = document.getElementById("tz-label");
  var statusEl = document.getElementById("history-status");
  var resultEl = document.getElementById("history-result");
  var playerEl = document.getElementById("player");
  var playBtn = document.getElementById("play");
  var scrub = document.getElementById("scrub");
  var clockEl = document.getElementById("clock");
  var clockSpeedEl = document.getElementById("clock-speed");
  var stopsEl = document.getElementById("stops");
  var flaggedToggle = document.getElementById("show-flagged");
  var controlsEl = root.querySelector(".history-controls");
  var pickedEl = document.getElementById("history-picked");
  var changeBtn = document.getElementById("history-change");

  var browserZone = viewerZone();
  if (!tzInput.value && browserZone) tzInput.value = browserZone;
  var zone = tzInput.value || browserZone || undefined;
  if (tzLabel && zone) tzLabel.textContent = " (" + zone + ")";

  /* ------------------------------------------------------------------ the map */

  var center = [parseFloat(mapEl.dataset.centerLat) || 0, parseFloat(mapEl.dataset.centerLng) || 0];
  var map = L.map(mapEl, { preferCanvas: true, zoomControl: true, attributionControl: true, maxZoom: 19 });
  map.attributionControl.setPrefix(false);
  L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
  map.setView(center, 12);
  // Without tiles: the places by name, around the map's centre now and the track once it is in.
  var places = { wanted: false, layer: null, asked: 0 };
  function drawPlaces(around) {
    if (!places.wanted) return;
    var ask = ++places.asked;
    showPlaces(map, around).then(function (layer) {
      if (!layer) return;
      if (ask !== places.asked) {
        layer.remove(); // a later ask (around the track) is on its way or in: only one layer
        return;
      }
      if (places.layer) places.layer.remove();
      places.layer = layer;
    });
  }
  addTiles(map, mapEl.dataset.tileUrl, {
    attribution: mapEl.dataset.tileAttribution || "",
    advice: "Places are shown by name instead.",
    onUnavailable: function () {
      places.wanted = true;
      var middle = trackBounds ? trackBounds.getCenter() : map.getCenter();
      drawPlaces({ lat: middle.lat, lng: middle.lng });
    },
  });

  // "Whole track": back to the view of everything after the player or a hand moved the map.
  var trackBounds = null;
  var fitControl = L.control({ position: "topright" });
  fitControl.onAdd = function () {
    var el = L.DomUtil.create("div", "hf-map-tools");
    el.innerHTML = '<button type="button" class="hf-tool" id="fit-track">Whole track</button>';
    L.DomEvent.disableClickPropagation(el);
    el.querySelector("button").addEventListener("click", fitTrack);
    return el;
  };
  function fitTrack() {
    // Clear of the zoom buttons and "Whole track" along the top.
    if (trackBounds) {
      map.fitBounds(trackBounds, { paddingTopLeft: [40, 64], paddingBottomRight: [40, 30], maxZoom: 17 });
    }
  }

  var css = window.getComputedStyle(document.documentElement);
  function cssColor(name, fallback) {
    return css.getPropertyValue(name).trim() || fallback;
  }
  function bandColor(band) {
    return band === GAP_BAND ? cssColor("--band-gap", "#94a3b8") : cssColor("--band-" + band, "#2563eb");
  }

  /* ------------------------------------------------------------------ formatting */

  var manyDays = false;

  /** A fix's time in the form's zone: with the day when the range spans more than one. */
  function clockText(t) {
    var at = new Date(t * 1000);
    return manyDays ? dateTime(at, { seconds: true, timeZone: zone }) : time(at, { seconds: true, timeZone: zone });
  }
  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }
  function utc(t) {
    return utcText(new Date(t * 1000));
  }
  function coordsText(point) {
    return point.lat.toFixed(5) + ", " + point.lng.toFixed(5);
  }
  /** Where a stop was: its place ("Alexanderplatz, 60 m"), else its coordinates. */
  function stopPlace(stop) {
    return stop.label ? stop.label.text : coordsText(stop);
  }
  function kmh(mps) {
    return mps === null || mps === undefined ? "—" : Math.round(mps * 3.6) + " km/h";
  }
  var FLAG_WORDS = {
    "implausible-jump": "implausible jump",
    inaccurate: "accuracy too poor",
    "out-of-order": "arrived late",
  };

  /* ------------------------------------------------------------------ the range */

  function localValue(date) {
    return (
      date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes())
    );
  }
  function midnight(date) {
    return new Date(date.getFullYear(), date.getMonth(), date.getDate());
  }

  // Quick ranges: in the browser's zone (the form's zone follows).
  Array.prototype.forEach.call(form.querySelectorAll("[data-range]"), function (button) {
    button.addEventListener("click", function () {
      var now = new Date();
      var today = midnight(now);
      if (button.dataset.range === "today") {
        fromInput.value = localValue(today);
        toInput.value = localValue(now);
      } else {
        fromInput.value = localValue(new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1));
        toInput.value = localValue(today);
      }
      tzInput.value = browserZone;
      if (form.reportValidity()) form.submit();
    });
  });
  form.addEventListener("submit", function () {
    if (browserZone && !tzInput.value) tzInput.value = browserZone;
  });

  /** The instants to ask for: the server's, else the form's in this browser (default: today so far). */
  function instants() {
    if (root.dataset.from && root.dataset.to) return { from: root.dataset.from, to: root.dataset.to };
    var now = new Date();
    var start = fromInput.value ? new Date(fromInput.value) : midnight(now);
    var end = toInput.value ? new Date(toInput.value) : now;
    if (isNaN(start.getTime()) || isNaN(end.getTime())) return null;
    fromInput.value = localValue(start);
    toInput.value = localValue(end);
    var params = new URLSearchParams({
      driver_id: root.dataset.driverId,
      from: fromInput.value,
      to: toInput.value,
      tz: tzInput.value,
    });
    window.history.replaceState(null, "", "/history?" + params.toString());
    return { from: start.toISOString(), to: end.toISOString() };
  }

  /* ------------------------------------------------------------------ loading */

  var driverId = root.dataset.driverId;
  var driverName = root.dataset.driverName || "this driver";
  var range = null;

  function say(html) {
    statusEl.innerHTML = html;
  }

  if (driverId && root.dataset.rangeError !== "true") {
    range = instants();
    if (range) load();
  }

  function load() {
    var query = "?from=" + encodeURIComponent(range.from) + "&to=" + encodeURIComponent(range.to);
    var base = "/api/v1/drivers/" + encodeURIComponent(driverId) + "/history";
    document.getElementById("export-gpx").href = base + ".gpx" + query;
    document.getElementById("export-csv").href = base + ".csv" + query;
    say('<p class="muted">Loading positions\u2026</p>');
    fetch(base + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(
          function (body) {
            return { ok: response.ok, status: response.status, body: body };
          },
          function () {
            return { ok: false, status: response.status, body: {} };
          }
        );
      })
      .then(function (answer) {
        if (!answer.ok) {
          var detail = (answer.body && answer.body.detail) || "the server answered " + answer.status;
          say('<p class="alert alert-error" role="alert">Could not load the history: ' + escapeHtml(detail) + "</p>");
          return;
        }
        render(answer.body);
      })
      .catch(function () {
        say('<p class="alert alert-error" role="alert">Could not reach the server. Check the connection and reload.</p>');
      });
  }

  /* ------------------------------------------------------------------ drawing */

  var track = [];
  var stops = [];
  var col = {};
  var playhead = null;
  var flaggedLayer = L.layerGroup();
  var t0 = 0;
  var t1 = 0;
  var t = 0;

  function rangeText(fromIso, toIso) {
    var inZone = { timeZone: zone };
    var b = sameDay(fromIso, toIso, inZone) ? time(toIso, inZone) : dateTime(toIso, inZone);
    return dateTime(fromIso, inZone) + " and " + b;
  }

  function render(data) {
    data.columns.forEach(function (name, index) {
      col[name] = index;
    });
    track = data.track;
    stops = data.stops;
    var flagged = data.flagged;
    var name = (data.driver && data.driver.name) || driverName;
    manyDays = new Date(data.to) - new Date(data.from) > 86400000 || !sameDay(data.from, data.to, { timeZone: zone });

    drawFlagged(flagged);
    if (!track.length) {
      resultEl.hidden = true;
      playerEl.hidden = true;
      var also = flagged.length
        ? " Only " + flagged.length + " flagged position" + (flagged.length === 1 ? "" : "s") + " (shown as \u00d7)."
        : "";
      say(
        '<p class="empty-title">No positions for ' + escapeHtml(name) + " between " +
          escapeHtml(rangeText(data.from, data.to)) + "." + also + "</p>" +
          '<p class="muted">Try a longer range or another day. If the phone should have been sending, ' +
          "check it under \u201cConnect a phone\u201d in the driver\u2019s card in the control room.</p>"
      );
      if (flagged.length) map.fitBounds(L.latLngBounds(flagged.map(latLng)), { padding: [40, 40], maxZoom: 16 });
      return;
    }
    say(
      data.truncated
        ? '<p class="alert alert-warning">Only the first ' + number(data.limit) +
            " positions of this range are shown. Pick a shorter range to see the rest.</p>"
        : ""
    );
    drawTrack(data.segments);
    drawStops();
    summarise(data.summary, flagged.length);
    listStops();
    resultEl.hidden = false;
    playerEl.hidden = false;
    map.invalidateSize();
    trackBounds = L.latLngBounds(track.map(latLng));
    var middle = trackBounds.getCenter();
    drawPlaces({ lat: middle.lat, lng: middle.lng });
    fitControl.addTo(map);
    fitTrack();
    startPlayer();
    fold(name, data.from, data.to);
  }

  /** On a phone the form folds into "<driver> · <range> [Change]" (CSS decides; wider screens show both). */
  function fold(name, fromIso, toIso) {
    document.getElementById("history-picked-text").textContent = name + " \u00b7 " + rangeText(fromIso, toIso).replace(" and ", " \u2013 ");
    pickedEl.hidden = false;
    controlsEl.dataset.folded = "true";
  }
  changeBtn.addEventListener("click", function () {
    var folded = controlsEl.dataset.folded === "true";
    controlsEl.dataset.folded = folded ? "false" : "true";
    changeBtn.setAttribute("aria-expanded", folded ? "true" : "false");
    changeBtn.textContent = folded ? "Done" : "Change";
  });

  function latLng(row) {
    return [row[col.lat], row[col.lng]];
  }

  function drawTrack(segments) {
    var renderer = L.canvas({ padding: 0.5 });
    segments.forEach(function (segment) {
      var band = segment[2];
      var points = [];
      for (var i = segment[0]; i <= segment[1]; i++) points.push(latLng(track[i]));
      L.polyline(points, {
        renderer: renderer,
        color: bandColor(band),
        weight: band === GAP_BAND ? 3 : 5,
        opacity: band === GAP_BAND ? 0.8 : 0.9,
        dashArray: band === GAP_BAND ? "6 8" : null,
        interactive: false,
      }).addTo(map);
    });
    var first = track[0];
    var last = track[track.length - 1];
    endMarker(first, "hf-end hf-end-start", "Start " + clockText(first[col.t]));
    endMarker(last, "hf-end hf-end-finish", "End " + clockText(last[col.t]));
  }

  function endMarker(row, className, label) {
    L.marker(latLng(row), {
      icon: L.divIcon({ className: className, iconSize: [14, 14] }),
      keyboard: false,
      title: label,
      alt: label,
    }).addTo(map);
  }

  function drawStops() {
    stops.forEach(function (stop, index) {
      var label = "Stop " + (index + 1) + (stop.label ? " at " + stop.label.text : "") + ": " +
        duration(stop.duration_s) + ", " + clockText(stop.start) + " to " + clockText(stop.end);
      var marker = L.marker([stop.lat, stop.lng], {
        icon: L.divIcon({ className: "hf-stop", html: String(index + 1), iconSize: [24, 24] }),
        title: label,
        alt: label,
        riseOnHover: true,
      });
      // The place by name, the coordinates under it.
      var tip = document.createElement("div");
      var head = document.createElement("strong");
      head.textContent = "Stop " + (index + 1) + (stop.label ? ": " + stop.label.text : "");
      var when = document.createElement("div");
      when.textContent = duration(stop.duration_s) + ", " + clockText(stop.start) + " to " + clockText(stop.end);
      var where = document.createElement("div");
      where.className = "hf-stop-coords";
      where.textContent = coordsText(stop);
      tip.append(head, when, where);
      marker.bindTooltip(tip, { direction: "top", offset: [0, -12] });
      marker.on("click", function () {
        seek(stop.start);
      });
      marker.addTo(map);
    });
  }

  function drawFlagged(flagged) {
    flaggedLayer.clearLayers();
    flagged.forEach(function (row) {
      var why = FLAG_WORDS[row[col.flag]] || row[col.flag] || "flagged";
      var label = "Flagged (" + why + "), " + clockText(row[col.t]);
      var marker = L.marker(latLng(row), {
        icon: L.divIcon({ className: "hf-flagged", html: "\u00d7", iconSize: [16, 16] }),
        keyboard: false,
        title: label,
        alt: label,
      });
      marker.bindTooltip(label + (row[col.accuracy_m] ? ", \u00b1" + distance(row[col.accuracy_m]) : ""));
      flaggedLayer.addLayer(marker);
    });
    document.getElementById("flagged-count").textContent = flagged.length;
    document.getElementById("flag-toggle-label").hidden = !flagged.length;
    if (flaggedToggle.checked) flaggedLayer.addTo(map);
  }

  flaggedToggle.addEventListener("change", function () {
    if (flaggedToggle.checked) flaggedLayer.addTo(map);
    else flaggedLayer.remove();
  });

  function summarise(summary, flaggedCount) {
    var set = function (id, text) {
      document.getElementById(id).textContent = text;
    };
    set("sum-distance", distance(summary.distance_m));
    set("sum-duration", duration(summary.duration_s));
    set("sum-moving", duration(summary.moving_s));
    set("sum-stopped", duration(summary.stopped_s));
    set("sum-max", kmh(summary.max_speed_mps));
    set("sum-avg", kmh(summary.avg_speed_mps));
    set("sum-stops", String(summary.stops));
    var fixes = document.getElementById("sum-fixes");
    fixes.textContent = number(summary.fixes);
    if (flaggedCount) {
      var note = document.createElement("span");
      note.className = "sum-note";
      note.textContent = "+ " + number(flaggedCount) + " flagged";
      fixes.appendChild(note);
    }
  }

  function listStops() {
    stopsEl.innerHTML = "";
    if (!stops.length) {
      stopsEl.innerHTML = '<li class="none">No stops in this range.</li>';
      return;
    }
    stops.forEach(function (stop, index) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "stop-item";
      button.dataset.stop = String(index);
      button.title = coordsText(stop) + " \u00b7 " + utc(stop.start) + " to " + utc(stop.end);
      button.innerHTML =
        '<span class="stop-num" aria-hidden="true">' + (index + 1) + "</span>" +
        '<span class="stop-what">' +
        '<span class="stop-place' + (stop.label ? "" : " is-coords") + '">' + escapeHtml(stopPlace(stop)) + "</span>" +
        '<span class="stop-when">' + escapeHtml(clockText(stop.start)) + " \u2013 " + escapeHtml(clockText(stop.end)) + "</span>" +
        "</span>" +
        '<span class="stop-length">' + escapeHtml(duration(stop.duration_s)) + "</span>";
      button.setAttribute("aria-label", "Stop " + (index + 1) + (stop.label ? " at " + stop.label.text : "") + ", " +
        duration(stop.duration_s) + ", from " + clockText(stop.start) + ": replay from here");
      button.addEventListener("click", function () {
        seek(stop.start);
        map.panTo([stop.lat, stop.lng]);
      });
      item.appendChild(button);
      stopsEl.appendChild(item);
    });
  }

  /* ------------------------------------------------------------------ the player */

  var rate = DEFAULT_RATE;
  var playing = false;
  var lastFrame = 0;
  var index = 0; // the fix at or before t

  function startPlayer() {
    t0 = track[0][col.t];
    t1 = track[track.length - 1][col.t];
    scrub.min = "0";
    scrub.max = String(Math.max(1, Math.ceil(t1 - t0)));
    scrub.step = "1";
    playhead = L.marker(latLng(track[0]), {
      icon: L.divIcon({ className: "hf-playhead", iconSize: [22, 22] }),
      keyboard: false,
      interactive: false,
      zIndexOffset: 1000,
    }).addTo(map);
    seek(t0);
  }

  /** The fix at or before time ``at`` (binary search from the last one found). */
  function fixBefore(at) {
    var lo = 0;
    var hi = track.length - 1;
    if (at <= track[0][col.t]) return 0;
    if (at >= track[hi][col.t]) return hi;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (track[mid][col.t] <= at) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  function positionAt(at) {
    index = fixBefore(at);
    var a = track[index];
    var b = track[index + 1];
    if (!b || b[col.t] <= a[col.t]) return latLng(a);
    var f = Math.min(1, Math.max(0, (at - a[col.t]) / (b[col.t] - a[col.t])));
    return [a[col.lat] + (b[col.lat] - a[col.lat]) * f, a[col.lng] + (b[col.lng] - a[col.lng]) * f];
  }

  function seek(at, fromScrub) {
    if (!track.length) return;
    t = Math.min(t1, Math.max(t0, at));
    var where = positionAt(t);
    playhead.setLatLng(where);
    clockEl.textContent = clockText(t);
    clockEl.setAttribute("datetime", new Date(t * 1000).toISOString());
    clockEl.title = timeTitle(new Date(t * 1000), { timeZone: zone });
    clockSpeedEl.textContent = kmh(track[index][col.speed_mps]);
    if (!fromScrub) scrub.value = String(Math.round(t - t0));
    scrub.setAttribute("aria-valuetext", clockText(t));
    markCurrentStop();
    if (playing && !map.getBounds().pad(-0.1).contains(where)) map.panTo(where, { animate: false });
  }

  function markCurrentStop() {
    var buttons = stopsEl.querySelectorAll(".stop-item");
    for (var i = 0; i < buttons.length; i++) {
      var stop = stops[i];
      buttons[i].classList.toggle("is-current", t >= stop.start && t <= stop.end);
    }
  }

  function frame(now) {
    if (!playing) return;
    var elapsed = Math.min(0.25, (now - lastFrame) / 1000); // a background tab does not leap
    lastFrame = now;
    var next = t + elapsed * rate;
    // Skip a gap (no fix for over 5 minutes) instead of crawling across it.
    var after = track[fixBefore(t) + 1];
    if (after && after[col.t] - track[fixBefore(t)][col.t] > GAP_S) next = Math.max(next, after[col.t]);
    seek(next);
    if (t >= t1) {
      pause();
      return;
    }
    window.requestAnimationFrame(frame);
  }

  function play() {
    if (!track.length) return;
    if (t >= t1) seek(t0);
    playing = true;
    playBtn.dataset.playing = "true";
    playBtn.setAttribute("aria-label", "Pause");
    playBtn.title = "Pause (space)";
    lastFrame = window.performance.now();
    window.requestAnimationFrame(frame);
  }

  function pause() {
    playing = false;
    playBtn.dataset.playing = "false";
    playBtn.setAttribute("aria-label", "Play");
    playBtn.title = "Play (space)";
  }

  playBtn.addEventListener("click", function () {
    if (playing) pause();
    else play();
  });
  scrub.addEventListener("input", function () {
    seek(t0 + Number(scrub.value), true);
  });
  Array.prototype.forEach.call(document.querySelectorAll(".rate-btn"), function (button) {
    button.addEventListener("click", function () {
      rate = Number(button.dataset.rate) || DEFAULT_RATE;
      Array.prototype.forEach.call(document.querySelectorAll(".rate-btn"), function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== " " || playerEl.hidden) return;
    var target = event.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" && target.type !== "range") return;
    if (tag === "SELECT" || tag === "TEXTAREA" || tag === "BUTTON" || tag === "A") return;
    event.preventDefault();
    if (playing) pause();
    else play();
  });

  window.hexfleetHistory = {
    map: map,
    marker: function () {
      return playhead;
    },
    time: function () {
      return t;
    },
    playing: function () {
      return playing;
    },
    fixes: function () {
      return track.length;
    },
    rates: RATES,
    play: play,
    pause: pause,
    seek: seek,
  };
}
