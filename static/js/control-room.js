/* hexfleet control room: the live map, and the list's filter, focus and clock.
 *
 * Reads the fleet once from /api/v1/drivers, then follows /api/v1/stream/positions
 * (Server-Sent Events, authenticated by the same-origin session cookie). Markers glide
 * between fixes over the driver's own ping interval; the side list and the detail pane
 * are htmx partials.
 *
 * The filter (search words, status, sort) lives in the URL (?q=&status=&sort=&driver=): the
 * server renders the list from it, and this file hides the markers that do not match by the
 * same rules as webapp/pages/control_room.py (filter_drivers, matches_status).
 *
 * For tests: window.hexfleetMap = {map, markers: Map(driverId -> L.Marker), visible(id)}, and
 * every marker element carries data-driver-id.
 */
(function () {
  "use strict";

  var API_DRIVERS = "/api/v1/drivers";
  var STREAM_URL = "/api/v1/stream/positions";
  var TRAIL_MINUTES = 10;
  // A glide lasts about the time between this driver's last two fixes, within these bounds,
  // so a marker keeps moving until the next fix arrives instead of stopping half-way.
  var MIN_ANIMATION_MS = 500;
  var MAX_ANIMATION_MS = 10000;
  var DEFAULT_INTERVAL_MS = 1000;
  var STALE_CHECK_MS = 1000;
  var OUTAGE_GRACE_MS = 2500; // a routine reconnect (2 s) shows no banner
  var ATTENTION_WINDOW_MS = 10 * 60 * 1000; // as ATTENTION_WINDOW in webapp/pages/control_room.py
  var MIN_STATUS_WORD = 3;
  var TILE_ERRORS_BEFORE_NOTICE = 4;
  var CLUSTER_BELOW_ZOOM = 13;
  var STATUSES = { available: 1, busy: 1, off_duty: 1 };
  var STATUS_WORDS = { available: "available", busy: "busy", off_duty: "off duty" };
  var OUTAGE_TEXT = "Connection lost \u2014 positions are not live. Reconnecting\u2026";

  var mapEl = document.getElementById("map");
  if (!mapEl || !window.L) return;

  var config = {
    tileUrl: mapEl.dataset.tileUrl || "",
    tileAttribution: mapEl.dataset.tileAttribution || "",
    center: [parseFloat(mapEl.dataset.centerLat) || 0, parseFloat(mapEl.dataset.centerLng) || 0],
    staleAfterMs: (parseFloat(mapEl.dataset.staleAfterS) || 60) * 1000,
  };

  // maxZoom: the cluster group needs one even when there is no tile layer to give it.
  var map = L.map(mapEl, { zoomControl: false, attributionControl: true, worldCopyJump: true, maxZoom: 19 });
  L.control.zoom({ position: "topleft" }).addTo(map);
  L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);
  map.attributionControl.setPrefix(false);

  /* ------------------------------------------------------------------ map controls */

  // The legend: always open on a desktop; on a phone a button opens and closes it.
  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var el = L.DomUtil.create("div", "hf-legend-box");
    el.innerHTML =
      '<button type="button" class="hf-legend-toggle" aria-expanded="false" aria-controls="hf-legend">Legend</button>' +
      '<div class="hf-legend" id="hf-legend" role="group" aria-label="Marker colours">' +
      '<span><i class="lg-available"></i>Available</span><span><i class="lg-busy"></i>Busy</span>' +
      '<span><i class="lg-off"></i>Off duty</span><span><i class="lg-stale"></i>Stale</span>' +
      '<span><i class="lg-attention"></i>Needs attention</span></div>';
    L.DomEvent.disableClickPropagation(el);
    var toggle = el.querySelector(".hf-legend-toggle");
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      el.classList.toggle("is-open", open);
    });
    return el;
  };
  legend.addTo(map);

  // "Names": permanent labels with name and plate beside every marker.
  var showNames = false;
  var namesControl = L.control({ position: "topright" });
  namesControl.onAdd = function () {
    var el = L.DomUtil.create("div", "hf-map-tools");
    el.innerHTML =
      '<button type="button" class="hf-tool" id="toggle-names" aria-pressed="false" title="Show every driver\'s name and plate">Show names</button>';
    L.DomEvent.disableClickPropagation(el);
    el.querySelector("button").addEventListener("click", function (event) {
      setShowNames(!showNames);
      event.currentTarget.setAttribute("aria-pressed", showNames ? "true" : "false");
    });
    return el;
  };
  namesControl.addTo(map);

  /* ------------------------------------------------------------------ tiles */

  var noticeEl = document.getElementById("map-notice");

  if (config.tileUrl) {
    var tiles = L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution, crossOrigin: true });
    // Failed tiles leave the grid background: after a few failures and no success, say why, once.
    var tileErrors = 0;
    var tileLoaded = false;
    var tileNoticeShown = false;
    tiles.on("tileload", function () {
      tileLoaded = true;
    });
    tiles.on("tileerror", function () {
      tileErrors++;
      if (tileLoaded || tileNoticeShown || tileErrors < TILE_ERRORS_BEFORE_NOTICE) return;
      tileNoticeShown = true;
      showTileNotice();
    });
    tiles.addTo(map);
  } else {
    mapEl.classList.add("map-no-tiles");
  }

  function tileHost() {
    try {
      return new URL(config.tileUrl.replace("{s}.", "").replace(/\{[^}]*\}/g, "0"), window.location.href).host;
    } catch (e) {
      return config.tileUrl;
    }
  }

  function showTileNotice() {
    if (!noticeEl) return;
    noticeEl.innerHTML = "";
    var text = document.createElement("p");
    text.textContent =
      "Map tiles can't be loaded from " + tileHost() + ". Set MAP_TILE_URL to a tile server you can reach (see README).";
    var close = document.createElement("button");
    close.type = "button";
    close.className = "btn-icon map-notice-close";
    close.setAttribute("aria-label", "Dismiss the map tiles notice");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () {
      noticeEl.innerHTML = "";
    });
    noticeEl.appendChild(text);
    noticeEl.appendChild(close);
  }

  map.setView(config.center, 13);

  /* ------------------------------------------------------------------ driver state */

  // id -> {id, marker, name, plate, phone, status, stale, flagged, heading, lastTs, lastFixAt,
  //        lastArrival, interval, anim, visible}
  var drivers = new Map();
  var markers = new Map();
  // id -> when the server received the driver's last fix (ms, server clock): the list's ages.
  // The rows carry no fix times after the first page (their HTML stays the same while only
  // positions change, so the 3 s refresh is a 304): the snapshot and the stream keep them here.
  var seenAt = new Map();
  // Markers live in markerLayer while they match the filter. Below CLUSTER_BELOW_ZOOM that is a
  // cluster group (vendored Leaflet.markercluster), so a city's worth of drivers is not one blob;
  // from that zoom on, a plain layer, where markers glide freely (the cluster group re-files a
  // marker on every move, which suits one jump per fix, not 60 frames a second).
  var plainLayer = L.layerGroup();
  var clusterLayer = L.markerClusterGroup
    ? L.markerClusterGroup({
        maxClusterRadius: 48,
        showCoverageOnHover: false,
        spiderfyOnMaxZoom: true,
        iconCreateFunction: clusterIcon,
      })
    : null;
  var markerLayer = plainLayer.addTo(map);

  var selectedId = null;
  var followId = null;
  var trail = null;

  window.hexfleetMap = {
    map: map,
    markers: markers,
    visible: function (id) {
      var state = drivers.get(id);
      return !!(state && state.visible);
    },
  };

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
      html: '<span class="hf-marker-body"><span class="hf-nose"></span></span><span class="hf-alert" aria-hidden="true">!</span>',
      iconSize: [26, 26],
      iconAnchor: [13, 13],
      tooltipAnchor: [0, -16],
    });
  }

  function needsAttention(state) {
    return !!state.stale || isFlagged(state);
  }

  function isFlagged(state) {
    return state.problemAt !== null && state.problemAt !== undefined && Date.now() - state.problemAt <= ATTENTION_WINDOW_MS;
  }

  function statusLabel(state) {
    return STATUS_WORDS[state.status] || String(state.status || "").replace("_", " ");
  }

  function applyMarkerClasses(state) {
    var el = state.marker.getElement();
    if (!el) return;
    var status = STATUSES[state.status] ? state.status : "off_duty";
    el.classList.remove("status-available", "status-busy", "status-off_duty");
    el.classList.add("status-" + status);
    el.classList.toggle("is-stale", !!state.stale);
    el.classList.toggle("needs-attention", needsAttention(state));
    el.classList.toggle("is-selected", state.id === selectedId);
    el.classList.toggle("has-heading", state.heading !== null && state.heading !== undefined);
    var body = el.querySelector(".hf-marker-body");
    if (body) body.style.transform = "rotate(" + (state.heading || 0) + "deg)";
    var notes = [statusLabel(state)];
    if (state.stale) notes.push("stale");
    else if (isFlagged(state)) notes.push("last fix flagged");
    el.setAttribute("aria-label", state.name + ", " + notes.join(", "));
  }

  function tooltipHtml(state) {
    var html = escapeHtml(state.name);
    if (showNames && state.plate) html += ' <span class="hf-tooltip-plate">' + escapeHtml(state.plate) + "</span>";
    return html;
  }

  function bindTooltip(state) {
    state.marker.unbindTooltip();
    state.marker.bindTooltip(tooltipHtml(state), {
      direction: showNames ? "right" : "top",
      offset: showNames ? [14, 0] : [0, 0],
      permanent: showNames,
      className: "hf-tooltip" + (showNames ? " hf-tooltip-name" : ""),
    });
  }

  function setShowNames(on) {
    showNames = on;
    drivers.forEach(bindTooltip);
  }

  function ensureDriver(id, info) {
    var state = drivers.get(id);
    if (state) return state;
    var latlng = L.latLng(info.lat, info.lng);
    var marker = L.marker(latlng, {
      driverId: id,
      icon: markerIcon(),
      keyboard: true,
      title: info.name || "Driver #" + id,
      riseOnHover: true,
    });
    state = {
      id: id,
      marker: marker,
      name: info.name || "Driver #" + id,
      plate: info.vehicle_plate || "",
      phone: info.phone || "",
      status: info.status || "available",
      stale: !!info.stale,
      problemAt: info.last_problem ? parseTime(info.last_problem_at) : null,
      heading: info.heading,
      lastTs: parseTime(info.ts),
      lastFixAt: parseTime(info.last_seen) || Date.now(),
      lastArrival: null, // when the last live fix arrived (performance.now())
      liveTs: null, // device time of the last live fix
      interval: DEFAULT_INTERVAL_MS,
      anim: null,
      visible: false,
    };
    drivers.set(id, state);
    markers.set(id, marker);
    marker.on("add", function () {
      var el = marker.getElement();
      el.setAttribute("data-driver-id", String(id));
      applyMarkerClasses(state);
      // Markers are tab stops (keyboard: true): Enter or Space opens the driver, as a click does.
      el.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " " || event.key === "Spacebar") {
          event.preventDefault();
          event.stopPropagation();
          selectDriver(id);
        }
      });
    });
    marker.on("click", function () {
      selectDriver(id);
    });
    bindTooltip(state);
    setVisible(state, matchesFilter(state));
    return state;
  }

  function updateFromSnapshot(d) {
    if (d.lat === null || d.lat === undefined || d.lng === null || d.lng === undefined) return;
    var existing = drivers.get(d.id);
    var state = ensureDriver(d.id, d);
    state.name = d.name || state.name;
    state.plate = d.vehicle_plate || "";
    state.phone = d.phone || "";
    state.status = d.status || state.status;
    state.stale = !!d.stale;
    state.problemAt = d.last_problem ? parseTime(d.last_problem_at) : null;
    noteSeen(d.id, parseTime(d.last_seen));
    if (existing) {
      var ts = parseTime(d.ts);
      // Only move if the snapshot is newer than what the stream already showed.
      if (ts !== null && (state.lastTs === null || ts > state.lastTs)) {
        state.lastTs = ts;
        state.lastFixAt = parseTime(d.last_seen) || state.lastFixAt;
        state.heading = d.heading;
        moveTo(state, L.latLng(d.lat, d.lng));
      }
      bindTooltip(state);
    }
    applyMarkerClasses(state);
    setVisible(state, matchesFilter(state));
  }

  /* ------------------------------------------------------------------ filter (list and map together) */

  var qInput = document.getElementById("q");
  var statusSelect = document.getElementById("status-filter");
  var sortSelect = document.getElementById("sort-order");
  var filter = readFilter();

  function readFilter() {
    return {
      q: qInput ? qInput.value : "",
      status: statusSelect ? statusSelect.value : "",
      sort: sortSelect ? sortSelect.value : "status",
    };
  }

  function normalise(text) {
    return String(text || "")
      .toLowerCase()
      .replace(/_/g, " ")
      .trim()
      .split(/\s+/)
      .join(" ");
  }

  function statusWords(state) {
    var words = [statusLabel(state)];
    words.push(state.stale ? "stale" : "online"); // markers exist only for drivers with a fix
    return words;
  }

  function textMatches(state, needle) {
    if (!needle) return true;
    if (state.name.toLowerCase().indexOf(needle) >= 0) return true;
    if (state.plate.toLowerCase().indexOf(needle) >= 0) return true;
    if (state.phone.toLowerCase().indexOf(needle) >= 0) return true;
    var idText = needle.replace(/^#/, "");
    if (/^[0-9]{1,18}$/.test(idText) && Number(idText) === state.id) return true;
    if (needle.length < MIN_STATUS_WORD) return false;
    return statusWords(state).some(function (word) {
      return word.indexOf(needle) === 0;
    });
  }

  function statusMatches(state, status) {
    if (!status) return true;
    if (status === "stale") return !!state.stale;
    if (status === "attention") return needsAttention(state);
    if (state.stale) return false;
    return status === "online" || state.status === status;
  }

  function matchesFilter(state) {
    return statusMatches(state, filter.status) && textMatches(state, normalise(filter.q));
  }

  function setVisible(state, visible) {
    if (state.visible === visible) return;
    state.visible = visible;
    if (visible) {
      markerLayer.addLayer(state.marker);
    } else {
      if (state.anim) {
        state.marker.setLatLng(state.anim.to);
        state.anim = null;
        animating.delete(state);
      }
      markerLayer.removeLayer(state.marker);
    }
  }

  function clusterIcon(cluster) {
    var children = cluster.getAllChildMarkers();
    var attention = children.some(function (marker) {
      var state = drivers.get(marker.options.driverId);
      return state && needsAttention(state);
    });
    var count = cluster.getChildCount();
    var size = count < 10 ? 34 : count < 100 ? 40 : 46;
    return L.divIcon({
      className: "hf-cluster" + (attention ? " has-attention" : ""),
      html: "<span>" + count + "</span>",
      iconSize: [size, size],
    });
  }

  function chooseMarkerLayer() {
    var want = clusterLayer && map.getZoom() < CLUSTER_BELOW_ZOOM ? clusterLayer : plainLayer;
    if (want === markerLayer) return;
    // Land every glide first: the layers are about to change hands.
    animating.forEach(function (state) {
      state.marker.setLatLng(state.anim.to);
      state.anim = null;
    });
    animating.clear();
    var shown = [];
    drivers.forEach(function (state) {
      if (state.visible) shown.push(state.marker);
    });
    map.removeLayer(markerLayer);
    markerLayer.clearLayers();
    markerLayer = want;
    if (want.addLayers) want.addLayers(shown);
    else
      shown.forEach(function (marker) {
        want.addLayer(marker);
      });
    map.addLayer(want);
    mapEl.classList.toggle("is-clustered", want === clusterLayer);
  }
  map.on("zoomend", chooseMarkerLayer);

  function applyFilterToMarkers() {
    drivers.forEach(function (state) {
      setVisible(state, matchesFilter(state));
    });
  }

  function writeUrl() {
    var params = new URLSearchParams(window.location.search);
    [
      ["q", filter.q.trim(), ""],
      ["status", filter.status, ""],
      ["sort", filter.sort, "status"],
      ["driver", selectedId === null ? "" : String(selectedId), ""],
    ].forEach(function (item) {
      if (item[1] && item[1] !== item[2]) params.set(item[0], item[1]);
      else params.delete(item[0]);
    });
    var query = params.toString();
    var url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    if (url !== window.location.pathname + window.location.search + window.location.hash) {
      window.history.replaceState(window.history.state, "", url);
    }
  }

  function markCountCards() {
    document.querySelectorAll("#fleet-counts [data-filter]").forEach(function (card) {
      card.setAttribute("aria-pressed", card.dataset.filter === filter.status ? "true" : "false");
    });
  }

  var listTimer = null;

  function filterChanged(immediate) {
    filter = readFilter();
    writeUrl();
    markCountCards();
    applyFilterToMarkers();
    if (listTimer) window.clearTimeout(listTimer);
    listTimer = window.setTimeout(
      function () {
        listTimer = null;
        if (window.htmx) window.htmx.trigger("#driver-list", "filter-changed");
      },
      immediate ? 0 : 250,
    );
  }

  if (qInput) {
    qInput.addEventListener("input", function () {
      filterChanged(false);
    });
    qInput.addEventListener("search", function () {
      filterChanged(true);
    });
    qInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        filterChanged(true);
      }
    });
  }
  [statusSelect, sortSelect].forEach(function (select) {
    if (select)
      select.addEventListener("change", function () {
        filterChanged(true);
      });
  });

  document.addEventListener("click", function (event) {
    var card = event.target.closest("#fleet-counts [data-filter]");
    if (!card || !statusSelect) return;
    var key = card.dataset.filter;
    statusSelect.value = filter.status === key ? "" : key;
    filterChanged(true);
  });

  /* ------------------------------------------------------------------ animation */

  var animating = new Set();
  var frameRequested = false;

  function moveTo(state, target) {
    var now = performance.now();
    var from = state.marker.getLatLng();
    var duration = state.interval;
    // No gliding across the map, in a hidden tab, for a hidden marker or in the cluster group.
    if (document.hidden || !state.visible || markerLayer === clusterLayer || from.distanceTo(target) > 50000) {
      duration = 0;
    }
    state.anim = { from: from, to: target, start: now, duration: duration };
    animating.add(state);
    requestFrame();
  }

  function requestFrame() {
    if (frameRequested) return;
    frameRequested = true;
    window.requestAnimationFrame(step);
  }

  function step(now) {
    frameRequested = false;
    animating.forEach(function (state) {
      var a = state.anim;
      // Linear: one glide hands over to the next at the same speed, so motion looks continuous.
      var t = a.duration > 0 ? Math.min(1, Math.max(0, (now - a.start) / a.duration)) : 1;
      state.marker.setLatLng([a.from.lat + (a.to.lat - a.from.lat) * t, a.from.lng + (a.to.lng - a.from.lng) * t]);
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
    var target = L.latLng(data.lat, data.lng);
    if (!state) {
      state = ensureDriver(id, { lat: data.lat, lng: data.lng, status: data.status, ts: data.ts, heading: data.heading });
      refreshSnapshotSoon(); // learn the new driver's name
    } else {
      // Delivery is at-least-once and may reorder: never step back to an older fix.
      if (ts !== null && state.lastTs !== null && ts <= state.lastTs) return;
      // The glide lasts the measured time between this driver's last two live fixes (device
      // time when both have one, else arrival time), so the marker arrives as the next fix is
      // due and never stands still in between. After a long silence (or the first live fix),
      // a quick glide: that is a catch-up, not a stream.
      var gap = null;
      if (ts !== null && state.liveTs !== null) gap = ts - state.liveTs;
      else if (state.lastArrival !== null) gap = performance.now() - state.lastArrival;
      state.interval =
        gap !== null && gap > 0 && gap <= MAX_ANIMATION_MS * 1.5
          ? Math.max(MIN_ANIMATION_MS, Math.min(MAX_ANIMATION_MS, gap))
          : DEFAULT_INTERVAL_MS;
      moveTo(state, target);
    }
    state.lastArrival = performance.now();
    state.liveTs = ts;
    if (ts !== null) state.lastTs = ts;
    state.lastFixAt = Date.now();
    noteSeen(id, Date.now() - clockSkewMs); // received just now, in server time
    state.heading = data.heading;
    if (data.status && STATUSES[data.status]) state.status = data.status;
    state.stale = false;
    applyMarkerClasses(state);
    setVisible(state, matchesFilter(state));
    if (id === selectedId && trail) trail.addLatLng([data.lat, data.lng]);
    if (id === followId) keepInView(target, state.anim ? state.anim.duration : 0);
  }

  function onStatus(data) {
    var state = drivers.get(data.driver_id);
    if (!state || !STATUSES[data.status]) return;
    state.status = data.status;
    applyMarkerClasses(state);
    setVisible(state, matchesFilter(state));
  }

  function markStaleDrivers() {
    var now = Date.now();
    drivers.forEach(function (state) {
      var stale = now - state.lastFixAt > config.staleAfterMs;
      if (stale !== state.stale) {
        state.stale = stale;
        applyMarkerClasses(state);
        setVisible(state, matchesFilter(state));
      }
    });
  }

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
          chooseMarkerLayer();
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
      if (state.visible) points.push(state.marker.getLatLng());
    });
    if (!points.length) {
      drivers.forEach(function (state) {
        points.push(state.marker.getLatLng());
      });
    }
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

  /* On a desktop the detail card floats over the map's right edge. */
  function detailOverlap() {
    var card = document.getElementById("driver-detail");
    if (!card || !detailSlot || window.getComputedStyle(detailSlot).position !== "absolute") return 0;
    var mapBox = mapEl.getBoundingClientRect();
    var box = detailSlot.getBoundingClientRect();
    if (box.width === 0 || box.left >= mapBox.right) return 0;
    return Math.max(0, mapBox.right - box.left);
  }

  function visibleCenterOffset() {
    return L.point(detailOverlap() / 2, sheetOverlap() / 2);
  }

  function panToVisible(latlng, options) {
    var zoom = map.getZoom();
    var point = map.project(latlng, zoom).add(visibleCenterOffset());
    map.panTo(map.unproject(point, zoom), options || { animate: true });
  }

  /* ------------------------------------------------------------------ follow a driver */

  var toastEl = document.getElementById("cr-toast");
  var toastTimer = null;

  function toast(message) {
    if (!toastEl) return;
    toastEl.textContent = message;
    if (toastTimer) window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () {
      toastEl.textContent = "";
    }, 6000);
  }

  function markFollowButton() {
    document.querySelectorAll("[data-action='follow']").forEach(function (button) {
      var on = followId !== null && button.id === "follow-" + followId;
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.classList.toggle("is-on", on);
    });
  }

  function setFollow(id) {
    followId = id;
    markFollowButton();
    var state = id === null ? null : drivers.get(id);
    if (state) {
      keepInView(state.anim ? state.anim.to : state.marker.getLatLng(), 0);
      toast("Following " + state.name + ": the map keeps them in view. Drag the map to stop.");
    }
  }

  function keepInView(latlng, durationMs) {
    panToVisible(latlng, {
      animate: true,
      duration: Math.max(0.25, Math.min(durationMs || 0, 1000) / 1000),
      easeLinearity: 1,
    });
  }

  // A dispatcher who drags the map wants to look elsewhere: stop following, and say so.
  map.on("dragstart", function () {
    if (followId === null) return;
    var state = drivers.get(followId);
    setFollow(null);
    toast("Stopped following " + (state ? state.name : "the driver") + ": you moved the map.");
  });

  /* ------------------------------------------------------------------ live connection and outages */

  var indicator = document.getElementById("live-indicator");
  var banner = document.getElementById("outage-banner");
  var source = null;
  var retryDelay = 1000;
  var hadError = false;
  var outage = false;
  var outageTimer = null;

  function setLive(state, label) {
    if (!indicator) return;
    indicator.dataset.state = state;
    var text = indicator.querySelector(".live-label");
    if (text) text.textContent = label;
  }

  // The stream is down: after a short grace (a routine reconnect takes 2 s), make it unmistakable:
  // a banner, grey markers and counts. Ages keep counting (tickClock).
  function streamDown() {
    if (outage || outageTimer) return;
    outageTimer = window.setTimeout(function () {
      outageTimer = null;
      outage = true;
      document.body.classList.add("is-outage");
      if (banner) banner.textContent = OUTAGE_TEXT;
    }, OUTAGE_GRACE_MS);
  }

  function streamUp(recovered) {
    if (outageTimer) window.clearTimeout(outageTimer);
    outageTimer = null;
    if (recovered && window.htmx) {
      window.htmx.trigger("#driver-list", "filter-changed");
      window.htmx.trigger(document.body, "refresh-detail");
    }
    if (!outage) return;
    outage = false;
    document.body.classList.remove("is-outage");
    if (banner) banner.textContent = "";
    toast("Connection back: positions are live again.");
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
      var recovered = hadError;
      setLive("live", "live");
      retryDelay = 1000;
      // Pings sent while we were away are not replayed: catch up from the snapshot, and
      // measure ping intervals afresh.
      if (hadError) {
        drivers.forEach(function (state) {
          state.lastArrival = null;
          state.liveTs = null;
        });
        loadSnapshot();
      }
      hadError = false;
      streamUp(recovered);
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
      streamDown();
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
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.search));
  }

  /* ------------------------------------------------------------------ times: local, and ages that keep counting */

  var clockSkewMs = 0; // our clock minus the server's, from the last partial's data-now
  var clockFormat = safeFormat({ hour: "2-digit", minute: "2-digit", second: "2-digit" });
  var fullFormat = safeFormat({
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });

  function safeFormat(options) {
    try {
      return new Intl.DateTimeFormat(undefined, options);
    } catch (e) {
      return null;
    }
  }

  function utcText(date) {
    return date.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  function ago(seconds) {
    if (seconds < 0) return "just now";
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }

  function noteServerTime(root) {
    var el = root && root.querySelector ? root.querySelector("[data-now]") : null;
    if (root && root.dataset && root.dataset.now) el = root;
    var serverNow = el ? Date.parse(el.dataset.now) : NaN;
    if (!isNaN(serverNow)) clockSkewMs = Date.now() - serverNow - 500; // rendered ~0.5 s ago on average
  }

  // Server-rendered times are UTC ("14:02:11 UTC"): show the dispatcher's local time, UTC on hover.
  function localizeTimes(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      if (el.dataset.localized === iso) return;
      var date = new Date(iso);
      if (isNaN(date.getTime())) return;
      el.dataset.localized = iso;
      var clock = clockFormat ? clockFormat.format(date) : null;
      if (clock && (el.hasAttribute("data-clock") || / UTC$/.test(el.textContent))) {
        el.textContent = el.textContent.replace(/\d{1,2}:\d{2}(:\d{2})? UTC$/, clock);
      }
      el.title = (fullFormat ? fullFormat.format(date) + " · " : "") + utcText(date);
    });
  }

  function noteSeen(id, at) {
    if (at === null || isNaN(at)) return;
    var known = seenAt.get(id);
    if (known === undefined || at > known) seenAt.set(id, at);
  }

  function tickClock() {
    var now = Date.now() - clockSkewMs;
    document.querySelectorAll("#control-room time[data-ago]").forEach(function (el) {
      var row = el.closest(".driver-row[data-driver-id]");
      var seen = row ? seenAt.get(Number(row.dataset.driverId)) : undefined;
      if (seen !== undefined) {
        var iso = new Date(seen).toISOString();
        if (el.getAttribute("datetime") !== iso) el.setAttribute("datetime", iso);
      }
      var at = Date.parse(el.getAttribute("datetime"));
      if (!isNaN(at)) el.textContent = ago(Math.floor((now - at) / 1000));
    });
    localizeTimes(document.getElementById("driver-list"));
    markStaleDrivers();
  }
  noteServerTime(document.getElementById("control-room"));
  localizeTimes(document);
  window.setInterval(tickClock, STALE_CHECK_MS);

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
    if (followId !== null && followId !== id) setFollow(null);
    if (previous) applyMarkerClasses(previous);
    var state = drivers.get(id);
    if (state) applyMarkerClasses(state);
    if (selectedInput) selectedInput.value = String(id);
    markSelectedRows();
    writeUrl();
    if (window.htmx && detailSlot) {
      window.htmx.ajax("GET", "/ui/drivers/" + id, { target: "#detail", swap: "innerHTML" });
    }
    if (panel) panel.scrollTop = 0;
    loadTrail(id);
  }

  function clearSelection() {
    var previous = drivers.get(selectedId);
    selectedId = null;
    setFollow(null);
    if (previous) applyMarkerClasses(previous);
    if (selectedInput) selectedInput.value = "";
    if (detailSlot) detailSlot.innerHTML = "";
    if (trail) {
      trail.remove();
      trail = null;
    }
    trailRequest++;
    markSelectedRows();
    writeUrl();
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
        var here = state ? (state.anim ? state.anim.to : state.marker.getLatLng()) : null;
        if (here) points.push([here.lat, here.lng]);
        trail = L.polyline(points, { className: "hf-trail", color: "#2563eb", weight: 4, opacity: 0.75 }).addTo(map);
        trail.bringToBack();
        if (followId === id) return; // following pans already
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
    var follow = event.target.closest("[data-action='follow']");
    if (follow) {
      var id = Number(follow.id.replace("follow-", ""));
      setFollow(followId === id ? null : id);
      if (followId === null) toast("Stopped following.");
      return;
    }
    var row = event.target.closest(".driver-row[data-driver-id]");
    if (row) selectDriver(Number(row.dataset.driverId));
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && selectedId !== null && !event.target.closest("input, select")) clearSelection();
  });

  // "Skip to driver list": to the selected row, else the first one (the list itself if empty).
  var skip = document.getElementById("skip-to-list");
  if (skip) {
    skip.addEventListener("click", function (event) {
      event.preventDefault();
      if (panel && panel.dataset.expanded === "false" && window.getComputedStyle(panel).position === "absolute") {
        expandSheet(true);
      }
      var tab = document.getElementById("tab-drivers");
      if (tab && tab.getAttribute("aria-selected") !== "true") tab.click();
      var target =
        document.querySelector(".driver-row.is-selected") ||
        document.querySelector(".driver-row") ||
        document.getElementById("driver-list");
      if (target) target.focus();
    });
  }

  /* ------------------------------------------------------------------ copy buttons ("Connect a phone") */

  // Every value a dispatcher copies onto a phone (token, device id, URLs, sign-in link) gets a
  // Copy button; the markup stays as the server rendered it.
  function addCopyButtons(root) {
    (root || document).querySelectorAll("code.copyable, code[data-token]").forEach(function (code) {
      if (!code.closest("#control-room")) return;
      var next = code.nextElementSibling;
      if (next && next.classList.contains("copy-btn")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "copy-btn";
      button.textContent = "Copy";
      button.setAttribute("aria-label", "Copy " + copyLabel(code));
      code.insertAdjacentElement("afterend", button);
    });
  }

  function copyLabel(code) {
    var holder = code.closest("div, p");
    var label = holder && holder.querySelector("dt, .secret-label");
    return label ? label.textContent.trim().toLowerCase() : "value";
  }

  function copyText(code) {
    var text = code.textContent.trim();
    var viaSelection = function () {
      var range = document.createRange();
      range.selectNodeContents(code);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (e) {
        copied = false;
      }
      return copied ? "copied" : "selected";
    };
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () {
          return "copied";
        },
        function () {
          return viaSelection();
        },
      );
    }
    return Promise.resolve(viaSelection());
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".copy-btn");
    if (!button) return;
    var code = button.previousElementSibling;
    if (!code) return;
    var what = copyLabel(code);
    copyText(code).then(function (result) {
      var copied = result === "copied";
      button.textContent = copied ? "Copied" : "Selected";
      button.classList.toggle("is-done", true);
      toast(copied ? "Copied the " + what + "." : "The " + what + " is selected: press Ctrl+C (\u2318C on a Mac) to copy it.");
      window.setTimeout(function () {
        button.textContent = "Copy";
        button.classList.remove("is-done");
      }, 2000);
    });
  });

  /* ------------------------------------------------------------------ htmx glue */

  // The list answers with an ETag of its HTML (webapp/pages/control_room.py). Sending back the one
  // whose rows are on screen turns an unchanged list into a 304 with no body, which base.html's
  // htmx-config swaps nothing for: focus, scroll and the ages stay as they are. The ETag covers
  // the whole body, so it holds across filters too: the same bytes would swap in the same rows.
  var driverList = document.getElementById("driver-list");
  var listEtag = (driverList && driverList.dataset.etag) || null;

  document.body.addEventListener("htmx:configRequest", function (event) {
    if (listEtag && event.detail.elt === driverList) event.detail.headers["If-None-Match"] = listEtag;
  });

  // The list is swapped every 3 s: keep keyboard focus (and the scroll position) on the same row or card.
  var focusBeforeSwap = null;
  var scrollBeforeSwap = 0;

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    // A partial request whose session expired is redirected to the login page: leave the
    // page instead of swapping a whole login form into the list.
    var xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === "/login") {
      event.detail.shouldSwap = false;
      goToLogin();
      return;
    }
    if (event.detail.target && event.detail.target.id === "driver-list") {
      var active = document.activeElement;
      focusBeforeSwap = null;
      if (active && active.closest) {
        var row = active.closest(".driver-row[data-driver-id]");
        var card = active.closest("#fleet-counts [data-filter]");
        if (row) focusBeforeSwap = '.driver-row[data-driver-id="' + row.dataset.driverId + '"]';
        else if (card) focusBeforeSwap = '#fleet-counts [data-filter="' + card.dataset.filter + '"]';
        else if (active.id === "driver-list") focusBeforeSwap = "#driver-list";
      }
      scrollBeforeSwap = event.detail.target.scrollTop;
    }
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "driver-list") {
      var xhr = event.detail.xhr;
      listEtag = (xhr && xhr.getResponseHeader("ETag")) || null;
      markSelectedRows();
      markCountCards();
      noteFlags(target);
      target.scrollTop = scrollBeforeSwap;
      if (focusBeforeSwap) {
        var again = document.querySelector(focusBeforeSwap) || target;
        again.focus({ preventScroll: true });
        focusBeforeSwap = null;
      }
    }
    // An outerHTML swap (the detail card) leaves the old, detached element as the target: look
    // at the page itself; it is a few dozen elements.
    var root = target.isConnected ? target : document;
    markFollowButton();
    noteServerTime(root === document ? document.getElementById("driver-detail") : root);
    localizeTimes(root);
    addCopyButtons(root);
    tickClock();
  });

  document.body.addEventListener("htmx:oobAfterSwap", function (event) {
    localizeTimes(event.detail.target || document);
  });

  // Rows say which drivers have a recently flagged fix: show it on their markers too.
  function noteFlags(list) {
    list.querySelectorAll(".driver-row[data-driver-id]").forEach(function (row) {
      var state = drivers.get(Number(row.dataset.driverId));
      if (!state) return;
      var flagged = row.dataset.flagged === "true";
      if (flagged !== isFlagged(state)) {
        state.problemAt = flagged ? Date.now() : null;
        applyMarkerClasses(state);
      }
    });
  }

  // While the stream is down the server most likely is too: the list and the detail card keep
  // what they last showed (their ages keep counting) instead of polling a server that is away.
  // They catch up as soon as the stream is back (streamUp).
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    if (!hadError) return;
    var elt = event.detail.elt;
    if (elt && (elt.id === "driver-list" || elt.id === "driver-detail")) event.preventDefault();
  });

  document.body.addEventListener("htmx:responseError", function () {
    if (panel) panel.classList.add("is-degraded");
  });
  document.body.addEventListener("htmx:sendError", function () {
    if (panel) panel.classList.add("is-degraded");
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (panel && event.detail.successful) panel.classList.remove("is-degraded");
    // The list no longer carries the server's time (data-now): its Date header does, 304 or not.
    // It is whole seconds, so correct the estimate only when it falls outside that second (and a
    // little latency), or the ages would jitter by a second from one refresh to the next.
    var xhr = event.detail.xhr;
    if (event.detail.elt === driverList && xhr && xhr.status) {
      var serverNow = Date.parse(xhr.getResponseHeader("Date") || "");
      var estimate = Date.now() - clockSkewMs;
      if (!isNaN(serverNow) && (estimate < serverNow || estimate > serverNow + 1500)) {
        clockSkewMs = Date.now() - serverNow - 500;
      }
    }
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
  markCountCards();
  loadSnapshot().then(function () {
    // A shared link may name a driver (?driver=12): open it.
    var wanted = Number(new URLSearchParams(window.location.search).get("driver"));
    if (wanted && Number.isInteger(wanted)) selectDriver(wanted);
    connect();
  });
})();
