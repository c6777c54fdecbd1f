/* hexfleet control room: the live map.
 *
 * Reads the fleet once from /api/v1/drivers, then follows /api/v1/stream/positions
 * (Server-Sent Events, authenticated by the same-origin session cookie). Markers glide
 * between fixes instead of jumping; the side list and the detail pane are htmx partials.
 *
 * For tests: window.hexfleetMap = {map, markers: Map(driverId -> L.Marker)}, and every
 * marker element carries data-driver-id.
 */
(function () {
  "use strict";

  var API_DRIVERS = "/api/v1/drivers";
  var STREAM_URL = "/api/v1/stream/positions";
  var TRAIL_MINUTES = 10;
  var MAX_ANIMATION_MS = 1000; // a marker never trails the latest fix by more than this
  var DEFAULT_INTERVAL_MS = 1000;
  var STALE_CHECK_MS = 5000;
  var STATUSES = { available: 1, busy: 1, off_duty: 1 };

  var mapEl = document.getElementById("map");
  if (!mapEl || !window.L) return;

  var config = {
    tileUrl: mapEl.dataset.tileUrl || "",
    tileAttribution: mapEl.dataset.tileAttribution || "",
    center: [parseFloat(mapEl.dataset.centerLat) || 0, parseFloat(mapEl.dataset.centerLng) || 0],
    staleAfterMs: (parseFloat(mapEl.dataset.staleAfterS) || 60) * 1000,
  };

  var map = L.map(mapEl, { zoomControl: false, attributionControl: true, worldCopyJump: true });
  L.control.zoom({ position: "topleft" }).addTo(map);
  L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var el = L.DomUtil.create("div", "hf-legend");
    el.setAttribute("aria-label", "Marker colours");
    el.innerHTML =
      '<span><i class="lg-available"></i>Available</span><span><i class="lg-busy"></i>Busy</span>' +
      '<span><i class="lg-off"></i>Off duty</span><span><i class="lg-stale"></i>Stale</span>';
    return el;
  };
  legend.addTo(map);
  map.attributionControl.setPrefix(false);
  if (config.tileUrl) {
    // Tile errors (offline, blocked) are harmless: the container has its own background.
    L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution, crossOrigin: true }).addTo(map);
  } else {
    mapEl.classList.add("map-no-tiles");
  }
  map.setView(config.center, 13);

  /* ------------------------------------------------------------------ driver state */

  // id -> {marker, name, status, stale, lastTs, lastFixAt, interval, from, to, start, duration}
  var drivers = new Map();
  var markers = new Map();
  window.hexfleetMap = { map: map, markers: markers };

  var selectedId = null;
  var trail = null;

  function parseTime(value) {
    if (value === null || value === undefined || value === "") return null;
    if (typeof value === "number") return value < 1e12 ? value * 1000 : value; // epoch s or ms
    var t = Date.parse(value);
    return isNaN(t) ? null : t;
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function markerIcon() {
    // A dot with a "nose" pointing along the heading (the body rotates); no heading, no nose.
    return L.divIcon({
      className: "hf-marker",
      html: '<span class="hf-marker-body"><span class="hf-nose"></span></span>',
      iconSize: [26, 26],
      iconAnchor: [13, 13],
      tooltipAnchor: [0, -16],
    });
  }

  function applyMarkerClasses(state) {
    var el = state.marker.getElement();
    if (!el) return;
    var status = STATUSES[state.status] ? state.status : "off_duty";
    el.classList.remove("status-available", "status-busy", "status-off_duty");
    el.classList.add("status-" + status);
    el.classList.toggle("is-stale", !!state.stale);
    el.classList.toggle("is-selected", state.id === selectedId);
    el.classList.toggle("has-heading", state.heading !== null && state.heading !== undefined);
    var body = el.querySelector(".hf-marker-body");
    if (body) body.style.transform = "rotate(" + (state.heading || 0) + "deg)";
    el.setAttribute("aria-label", state.name + ", " + status.replace("_", " ") + (state.stale ? ", stale" : ""));
  }

  function ensureDriver(id, info) {
    var state = drivers.get(id);
    if (state) return state;
    var latlng = L.latLng(info.lat, info.lng);
    var marker = L.marker(latlng, {
      icon: markerIcon(),
      keyboard: true,
      title: info.name || "Driver #" + id,
      riseOnHover: true,
    });
    state = {
      id: id,
      marker: marker,
      name: info.name || "Driver #" + id,
      status: info.status || "available",
      stale: !!info.stale,
      heading: info.heading,
      lastTs: parseTime(info.ts),
      lastFixAt: parseTime(info.last_seen) || Date.now(),
      interval: DEFAULT_INTERVAL_MS,
      anim: null,
    };
    drivers.set(id, state);
    markers.set(id, marker);
    marker.on("add", function () {
      var el = marker.getElement();
      el.setAttribute("data-driver-id", String(id));
      applyMarkerClasses(state);
    });
    marker.on("click", function () {
      selectDriver(id);
    });
    marker.bindTooltip(escapeHtml(state.name), { direction: "top", className: "hf-tooltip" });
    marker.addTo(map);
    return state;
  }

  function updateFromSnapshot(d) {
    if (d.lat === null || d.lat === undefined || d.lng === null || d.lng === undefined) return;
    var existing = drivers.get(d.id);
    var state = ensureDriver(d.id, d);
    state.name = d.name || state.name;
    state.status = d.status || state.status;
    state.stale = !!d.stale;
    if (existing) {
      var ts = parseTime(d.ts);
      // Only move if the snapshot is newer than what the stream already showed.
      if (ts !== null && (state.lastTs === null || ts > state.lastTs)) {
        state.lastTs = ts;
        state.heading = d.heading;
        moveTo(state, L.latLng(d.lat, d.lng));
      }
      state.marker.setTooltipContent(escapeHtml(state.name));
    }
    applyMarkerClasses(state);
  }

  /* ------------------------------------------------------------------ animation */

  var animating = new Set();
  var frameRequested = false;

  function moveTo(state, target) {
    var now = performance.now();
    var from = state.marker.getLatLng();
    var duration = Math.min(state.interval, MAX_ANIMATION_MS);
    if (document.hidden || from.distanceTo(target) > 50000) duration = 0; // no gliding across the map
    state.anim = { from: from, to: target, start: now, duration: duration };
    animating.add(state);
    requestFrame();
  }

  function requestFrame() {
    if (frameRequested) return;
    frameRequested = true;
    window.requestAnimationFrame(step);
  }

  function easeOut(t) {
    return 1 - (1 - t) * (1 - t);
  }

  function step(now) {
    frameRequested = false;
    animating.forEach(function (state) {
      var a = state.anim;
      var t = a.duration > 0 ? Math.min(1, (now - a.start) / a.duration) : 1;
      var k = easeOut(Math.max(0, t));
      state.marker.setLatLng([a.from.lat + (a.to.lat - a.from.lat) * k, a.from.lng + (a.to.lng - a.from.lng) * k]);
      if (t >= 1) {
        state.anim = null;
        animating.delete(state);
      }
    });
    if (animating.size) requestFrame();
  }

  // A hidden tab gets no animation frames: finish every glide at once when it comes back.
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    animating.forEach(function (state) {
      state.marker.setLatLng(state.anim.to);
      state.anim = null;
    });
    animating.clear();
  });

  /* ------------------------------------------------------------------ stream events */

  function onPosition(data) {
    var id = data.driver_id;
    if (typeof id !== "number" || typeof data.lat !== "number" || typeof data.lng !== "number") return;
    var ts = parseTime(data.ts);
    var state = drivers.get(id);
    var arrivedAt = performance.now();
    if (!state) {
      state = ensureDriver(id, { lat: data.lat, lng: data.lng, status: data.status, ts: data.ts, heading: data.heading });
      state.lastArrival = arrivedAt;
      refreshSnapshotSoon(); // learn the new driver's name
    } else {
      // Delivery is at-least-once and may reorder: never step back to an older fix.
      if (ts !== null && state.lastTs !== null && ts <= state.lastTs) return;
      if (state.lastArrival) {
        var gap = arrivedAt - state.lastArrival;
        // Smoothed estimate of this driver's ping interval: the glide lasts about one interval.
        state.interval = Math.max(100, Math.min(10000, 0.7 * state.interval + 0.3 * gap));
      }
      state.lastArrival = arrivedAt;
      moveTo(state, L.latLng(data.lat, data.lng));
    }
    if (ts !== null) state.lastTs = ts;
    state.lastFixAt = Date.now();
    state.heading = data.heading;
    if (data.status && STATUSES[data.status]) state.status = data.status;
    state.stale = false;
    applyMarkerClasses(state);
    if (id === selectedId && trail) trail.addLatLng([data.lat, data.lng]);
  }

  function onStatus(data) {
    var state = drivers.get(data.driver_id);
    if (!state || !STATUSES[data.status]) return;
    state.status = data.status;
    applyMarkerClasses(state);
  }

  function markStaleDrivers() {
    var now = Date.now();
    drivers.forEach(function (state) {
      var stale = now - state.lastFixAt > config.staleAfterMs;
      if (stale !== state.stale) {
        state.stale = stale;
        applyMarkerClasses(state);
      }
    });
  }
  window.setInterval(markStaleDrivers, STALE_CHECK_MS);

  /* ------------------------------------------------------------------ snapshot */

  var firstLoad = true;
  var snapshotTimer = null;

  function loadSnapshot() {
    return fetch(API_DRIVERS, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) {
          goToLogin();
          throw new Error("signed out");
        }
        if (!response.ok) throw new Error("GET " + API_DRIVERS + " answered " + response.status);
        return response.json();
      })
      .then(function (body) {
        (body.drivers || []).forEach(updateFromSnapshot);
        if (firstLoad) {
          firstLoad = false;
          fitToDrivers();
        }
      })
      .catch(function (error) {
        if (window.console) console.warn("hexfleet: could not load drivers:", error);
      });
  }

  function refreshSnapshotSoon() {
    if (snapshotTimer) return;
    snapshotTimer = window.setTimeout(function () {
      snapshotTimer = null;
      loadSnapshot();
    }, 500);
  }

  function fitToDrivers() {
    var points = [];
    drivers.forEach(function (state) {
      points.push(state.marker.getLatLng());
    });
    if (!points.length) return;
    var hidden = sheetOverlap();
    map.fitBounds(L.latLngBounds(points), {
      paddingTopLeft: [40, 40],
      paddingBottomRight: [40, 40 + hidden],
      maxZoom: 15,
      animate: false,
    });
  }

  /* On phones the bottom sheet covers part of the map: centre things in what is left. */
  function sheetOverlap() {
    var panelEl = document.getElementById("panel");
    if (!panelEl || window.getComputedStyle(panelEl).position !== "absolute") return 0;
    return Math.max(0, mapEl.getBoundingClientRect().bottom - panelEl.getBoundingClientRect().top);
  }

  function panToVisible(latlng) {
    var zoom = map.getZoom();
    var point = map.project(latlng, zoom).add([0, sheetOverlap() / 2]);
    map.panTo(map.unproject(point, zoom), { animate: true });
  }

  /* ------------------------------------------------------------------ live connection */

  var indicator = document.getElementById("live-indicator");
  var source = null;
  var retryDelay = 1000;
  var hadError = false;

  function setLive(state, label) {
    if (!indicator) return;
    indicator.dataset.state = state;
    var text = indicator.querySelector(".live-label");
    if (text) text.textContent = label;
  }

  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch (e) {
      return null;
    }
  }

  function connect() {
    if (source) source.close();
    source = new EventSource(STREAM_URL, { withCredentials: true });
    source.addEventListener("open", function () {
      setLive("live", "live");
      retryDelay = 1000;
      // Pings sent while we were away are not replayed: catch up from the snapshot.
      if (hadError) loadSnapshot();
      hadError = false;
    });
    source.addEventListener("position", function (event) {
      var data = parse(event);
      if (data) onPosition(data);
    });
    source.addEventListener("status", function (event) {
      var data = parse(event);
      if (data) onStatus(data);
    });
    source.addEventListener("error", function () {
      hadError = true;
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. the server answered 401 or 5xx): retry ourselves, backing off.
        setLive("offline", "offline · retrying");
        window.setTimeout(function () {
          checkSession().then(connect);
        }, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 30000);
      } else {
        setLive("reconnecting", "reconnecting…");
      }
    });
  }

  function checkSession() {
    return fetch(API_DRIVERS, { credentials: "same-origin", method: "GET" })
      .then(function (response) {
        if (response.status === 401 || response.status === 403) goToLogin();
      })
      .catch(function () {});
  }

  function goToLogin() {
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
  }

  /* ------------------------------------------------------------------ selection, detail, trail */

  var detailSlot = document.getElementById("detail");
  var panel = document.getElementById("panel");
  var selectedInput = document.getElementById("selected-driver");
  var trailRequest = 0;

  function markSelectedRows() {
    document.querySelectorAll(".driver-row").forEach(function (row) {
      var on = Number(row.dataset.driverId) === selectedId;
      row.classList.toggle("is-selected", on);
      row.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  function selectDriver(id) {
    var previous = drivers.get(selectedId);
    selectedId = id;
    if (previous) applyMarkerClasses(previous);
    var state = drivers.get(id);
    if (state) applyMarkerClasses(state);
    if (selectedInput) selectedInput.value = String(id);
    markSelectedRows();
    if (window.htmx && detailSlot) {
      window.htmx.ajax("GET", "/ui/drivers/" + id, { target: "#detail", swap: "innerHTML" });
    }
    if (panel) panel.scrollTop = 0;
    loadTrail(id);
  }

  function clearSelection() {
    var previous = drivers.get(selectedId);
    selectedId = null;
    if (previous) applyMarkerClasses(previous);
    if (selectedInput) selectedInput.value = "";
    if (detailSlot) detailSlot.innerHTML = "";
    if (trail) {
      trail.remove();
      trail = null;
    }
    trailRequest++;
    markSelectedRows();
  }

  function loadTrail(id) {
    var request = ++trailRequest;
    if (trail) {
      trail.remove();
      trail = null;
    }
    fetch("/api/v1/drivers/" + id + "/trail?minutes=" + TRAIL_MINUTES, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("trail answered " + response.status);
        return response.json();
      })
      .then(function (body) {
        if (request !== trailRequest) return; // another driver was selected meanwhile
        var points = (body.points || []).map(function (p) {
          return [p.lat, p.lng];
        });
        var state = drivers.get(id);
        var here = state ? state.anim ? state.anim.to : state.marker.getLatLng() : null;
        if (here) points.push([here.lat, here.lng]);
        trail = L.polyline(points, { className: "hf-trail", color: "#2563eb", weight: 4, opacity: 0.75 }).addTo(map);
        trail.bringToBack();
        if (here) panToVisible(here);
        else if (points.length) panToVisible(L.latLng(points[points.length - 1]));
      })
      .catch(function (error) {
        if (request !== trailRequest) return;
        var state = drivers.get(id);
        if (state) panToVisible(state.marker.getLatLng());
        if (window.console) console.warn("hexfleet: no trail:", error);
      });
  }

  document.addEventListener("click", function (event) {
    var close = event.target.closest("[data-action='close-detail']");
    if (close) {
      clearSelection();
      return;
    }
    var row = event.target.closest(".driver-row[data-driver-id]");
    if (row) selectDriver(Number(row.dataset.driverId));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && selectedId !== null && !event.target.closest("input")) clearSelection();
  });

  /* ------------------------------------------------------------------ htmx glue */

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "driver-list") markSelectedRows();
  });

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    // A partial request whose session expired is redirected to the login page: leave the
    // page instead of swapping a whole login form into the list.
    var xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === "/login") {
      event.detail.shouldSwap = false;
      goToLogin();
    }
  });

  document.body.addEventListener("htmx:responseError", function () {
    if (panel) panel.classList.add("is-degraded");
  });
  document.body.addEventListener("htmx:sendError", function () {
    if (panel) panel.classList.add("is-degraded");
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (panel && event.detail.successful) panel.classList.remove("is-degraded");
  });

  /* ------------------------------------------------------------------ phone bottom sheet */

  var handle = document.getElementById("sheet-handle");

  function expandSheet(expanded) {
    if (!panel || !handle) return;
    panel.dataset.expanded = expanded ? "true" : "false";
    handle.setAttribute("aria-expanded", expanded ? "true" : "false");
    // The map's size changes with the sheet on phones.
    window.setTimeout(function () {
      map.invalidateSize();
    }, 250);
  }

  if (handle) {
    handle.addEventListener("click", function () {
      expandSheet(panel.dataset.expanded !== "true");
    });
  }
  window.addEventListener("resize", function () {
    map.invalidateSize();
  });

  /* ------------------------------------------------------------------ start */

  setLive("connecting", "connecting…");
  loadSnapshot().then(connect);
})();
