/* hexfleet control room: bookings (queue, booking on the map, phone bookings) and the surge layer.
 *
 * Runs beside control-room.js and uses its map (window.hexfleetMap). The queue and the
 * booking card are htmx partials; this file re-renders them when /api/v1/stream/bookings
 * says something changed (no polling), draws the selected booking on the map, lets the
 * dispatcher set a caller's pickup and drop-off by clicking the map, ticks countdowns, and
 * toggles the surge layer (/api/v1/surge, live from /api/v1/stream/surge).
 */
(function () {
  "use strict";

  var shared = window.hexfleetMap;
  if (!shared || !window.L) return;
  var map = shared.map;

  /* ------------------------------------------------------------------ tabs */

  var tabs = Array.prototype.slice.call(document.querySelectorAll(".panel-tab"));

  function showTab(name, focus) {
    tabs.forEach(function (tab) {
      var on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(tab.getAttribute("aria-controls")).hidden = !on;
      if (on && focus) tab.focus();
    });
    if (window.history && window.history.replaceState) {
      var url = new URL(window.location.href);
      if (name === "drivers") url.searchParams.delete("tab");
      else url.searchParams.set("tab", name);
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    if (name !== "bookings") clearBookingLayers();
    else drawSelectedBooking();
  }

  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () {
      showTab(tab.dataset.tab, false);
    });
    tab.addEventListener("keydown", function (event) {
      var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      event.preventDefault();
      showTab(tabs[(index + step + tabs.length) % tabs.length].dataset.tab, true);
    });
  });

  /* ------------------------------------------------------------------ the booking on the map */

  var bookingLayer = L.layerGroup().addTo(map);
  var highlighted = null;

  function pin(latlng, kind, label) {
    return L.marker(latlng, {
      icon: L.divIcon({ className: "hf-pin hf-pin-" + kind, html: "<span><b>" + label + "</b></span>", iconSize: [28, 28], iconAnchor: [14, 28] }),
      keyboard: false,
      title: kind === "pickup" ? "Pickup" : "Drop-off",
    });
  }

  function clearBookingLayers() {
    bookingLayer.clearLayers();
    if (highlighted) {
      var el = highlighted.getElement();
      if (el) el.classList.remove("is-booking-driver");
      highlighted = null;
    }
  }

  function drawSelectedBooking() {
    clearBookingLayers();
    var card = document.getElementById("booking-detail");
    if (!card || !card.dataset.bookingId || document.getElementById("pane-bookings").hidden) return;
    var pickup = L.latLng(parseFloat(card.dataset.pickupLat), parseFloat(card.dataset.pickupLng));
    var dropoff = L.latLng(parseFloat(card.dataset.dropoffLat), parseFloat(card.dataset.dropoffLng));
    L.polyline([pickup, dropoff], { className: "hf-route", color: "#0f766e", weight: 3, dashArray: "6 6", opacity: 0.8 }).addTo(bookingLayer);
    pin(pickup, "pickup", "A").addTo(bookingLayer);
    pin(dropoff, "dropoff", "B").addTo(bookingLayer);
    var points = [pickup, dropoff];
    var driverId = Number(card.dataset.driverId);
    if (driverId && shared.markers.has(driverId)) {
      highlighted = shared.markers.get(driverId);
      var el = highlighted.getElement();
      if (el) el.classList.add("is-booking-driver");
      points.push(highlighted.getLatLng());
    }
    map.fitBounds(L.latLngBounds(points), { padding: [60, 60], maxZoom: 16 });
  }

  /* ------------------------------------------------------------------ queue and selection */

  var selectedInput = document.getElementById("selected-booking");
  var badge = document.getElementById("bookings-attention");

  function selectedBookingId() {
    return selectedInput && selectedInput.value ? Number(selectedInput.value) : null;
  }

  function selectBooking(id) {
    if (selectedInput) selectedInput.value = String(id);
    markSelectedRows();
    window.htmx.ajax("GET", "/ui/bookings/" + id, { target: "#booking-slot", swap: "innerHTML" });
  }

  function closeBooking() {
    if (selectedInput) selectedInput.value = "";
    var slot = document.getElementById("booking-slot");
    if (slot) slot.innerHTML = "";
    stopPicking();
    clearBookingLayers();
    clearDraftPins();
    markSelectedRows();
  }

  function markSelectedRows() {
    var id = selectedBookingId();
    document.querySelectorAll(".booking-row").forEach(function (row) {
      var on = Number(row.dataset.bookingId) === id;
      row.classList.toggle("is-selected", on);
      row.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  document.addEventListener("click", function (event) {
    var row = event.target.closest(".booking-row[data-booking-id]");
    if (row) {
      selectBooking(Number(row.dataset.bookingId));
      return;
    }
    if (event.target.closest("[data-action='close-booking']")) {
      closeBooking();
      return;
    }
    if (event.target.closest("[data-action='reload-booking']")) {
      var id = selectedBookingId();
      if (id) selectBooking(id);
      return;
    }
    var pick = event.target.closest("[data-pick]");
    if (pick) startPicking(pick.dataset.pick, pick, true);
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.target;
    if (!target) return;
    if (target.id === "booking-queue") {
      markSelectedRows();
      var body = document.getElementById("booking-queue-body");
      var attention = body ? Number(body.dataset.attention) || 0 : 0;
      if (badge) {
        badge.hidden = attention === 0;
        badge.textContent = String(attention);
        badge.setAttribute("aria-label", attention + " need attention");
      }
      tickCountdowns();
    }
    if (target.id === "booking-slot" || target.id === "booking-detail" || target.closest("#booking-slot")) {
      cardSwaps += 1;
      var card = document.getElementById("booking-detail");
      if (card && card.dataset.bookingId) {
        if (selectedInput) selectedInput.value = card.dataset.bookingId;
        clearDraftPins(); // a booking made from the form: its own pins take over
      }
      if (card) card.scrollIntoView({ block: "nearest" });
      markSelectedRows();
      drawSelectedBooking();
      bindPhoneForm();
      tickCountdowns();
    }
  });

  /* ------------------------------------------------------------------ live booking events */

  var source = null;
  var refreshTimer = null;
  var streamFailed = false;
  var liveLabel = document.getElementById("queue-live");

  // A live refresh must never throw away what the dispatcher is doing: not while they type
  // or have typed into the card (a cancel reason, a driver number), not while one of its
  // forms is being sent, and a refresh that was overtaken by the card's own answer is dropped.
  var cardSwaps = 0;

  function cardIsBusy(card) {
    if (card.querySelector(".htmx-request") || card.classList.contains("htmx-request")) return true;
    var fields = card.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field === document.activeElement && field.type !== "submit") return true;
      if ((field.tagName === "INPUT" || field.tagName === "TEXTAREA") && field.value !== field.defaultValue) return true;
    }
    return false;
  }

  function refreshSoon(bookingId) {
    if (refreshTimer) window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(function () {
      refreshTimer = null;
      window.htmx.trigger(document.body, "bookings-changed");
      var card = document.getElementById("booking-detail");
      if (!card || Number(card.dataset.bookingId) !== bookingId) return;
      if (cardIsBusy(card)) {
        var note = card.querySelector(".outdated-note"); // the queue row shows the new state meanwhile
        if (note) note.hidden = false;
        return;
      }
      var seen = cardSwaps;
      window.htmx.ajax("GET", "/ui/bookings/" + bookingId, {
        target: "#booking-detail",
        swap: "outerHTML",
        headers: { "HX-Refresh-Of": String(seen) },
      });
    }, 250);
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var headers = event.detail.requestConfig && event.detail.requestConfig.headers;
    var refreshOf = headers && headers["HX-Refresh-Of"];
    if (refreshOf === undefined) return;
    var card = document.getElementById("booking-detail");
    if (Number(refreshOf) !== cardSwaps || (card && cardIsBusy(card))) event.detail.shouldSwap = false;
  });

  function connect() {
    if (source) source.close();
    source = new EventSource("/api/v1/stream/bookings", { withCredentials: true });
    source.addEventListener("open", function () {
      if (liveLabel) liveLabel.textContent = "live";
      // Events sent while we were away are not replayed: catch up.
      if (streamFailed) window.htmx.trigger(document.body, "bookings-changed");
      streamFailed = false;
    });
    source.addEventListener("booking", function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      refreshSoon(data.booking_id);
    });
    source.addEventListener("error", function () {
      streamFailed = true;
      if (liveLabel) liveLabel.textContent = "reconnecting…";
      if (source.readyState === EventSource.CLOSED) window.setTimeout(connect, 3000);
    });
  }

  /* ------------------------------------------------------------------ countdowns */

  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-expires]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.expires) - now) / 1000);
      el.textContent = left > 0 ? left + " s left" : "expired";
      el.classList.toggle("is-expired", left <= 0);
    });
  }
  window.setInterval(tickCountdowns, 1000);

  /* ------------------------------------------------------------------ phone bookings: points on the map */

  var picking = null; // "pickup" | "dropoff"
  var draft = { pickup: null, dropoff: null };

  function clearDraftPins() {
    ["pickup", "dropoff"].forEach(function (kind) {
      if (draft[kind]) draft[kind].remove();
      draft[kind] = null;
    });
  }

  function startPicking(kind, button, lowerSheet) {
    picking = kind;
    // On a phone the bottom sheet covers most of the map: lower it so the map can be tapped.
    var panel = document.getElementById("panel");
    if (lowerSheet && panel && window.getComputedStyle(panel).position === "absolute" && panel.dataset.expanded === "true") {
      var handle = document.getElementById("sheet-handle");
      if (handle) handle.click();
    }
    map.getContainer().classList.add("is-picking");
    document.querySelectorAll("[data-pick]").forEach(function (b) {
      b.classList.toggle("is-active", b === button);
      b.textContent = b === button ? "Click the map…" : "Set on map";
    });
  }

  function stopPicking() {
    picking = null;
    map.getContainer().classList.remove("is-picking");
    document.querySelectorAll("[data-pick]").forEach(function (b) {
      b.classList.remove("is-active");
      b.textContent = "Set on map";
    });
  }

  function setPoint(kind, latlng) {
    var form = document.getElementById("phone-booking-form");
    if (!form) return;
    form.elements[kind + "_lat"].value = latlng.lat.toFixed(6);
    form.elements[kind + "_lng"].value = latlng.lng.toFixed(6);
    drawDraft(kind, latlng);
  }

  function drawDraft(kind, latlng) {
    if (draft[kind]) draft[kind].remove();
    draft[kind] = pin(latlng, kind, kind === "pickup" ? "A" : "B").addTo(map);
  }

  map.on("click", function (event) {
    if (!picking) return;
    setPoint(picking, event.latlng);
    var next = picking === "pickup" && !draftValue("dropoff") ? "dropoff" : null;
    stopPicking();
    if (next) startPicking(next, document.querySelector("[data-pick='dropoff']"));
  });

  function draftValue(kind) {
    var form = document.getElementById("phone-booking-form");
    return form && form.elements[kind + "_lat"].value;
  }

  function localToIso(value) {
    // datetime-local is the dispatcher's wall clock: give it its UTC offset (RFC 3339).
    var when = new Date(value);
    if (isNaN(when.getTime())) return "";
    var offset = -when.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    var abs = Math.abs(offset);
    function pad(n) {
      return String(n).padStart(2, "0");
    }
    return (
      when.getFullYear() + "-" + pad(when.getMonth() + 1) + "-" + pad(when.getDate()) + "T" +
      pad(when.getHours()) + ":" + pad(when.getMinutes()) + ":00" + sign + pad(Math.floor(abs / 60)) + ":" + pad(abs % 60)
    );
  }

  function bindPhoneForm() {
    var form = document.getElementById("phone-booking-form");
    if (!form || form.dataset.bound) return;
    form.dataset.bound = "1";
    ["pickup", "dropoff"].forEach(function (kind) {
      var lat = parseFloat(form.elements[kind + "_lat"].value);
      var lng = parseFloat(form.elements[kind + "_lng"].value);
      if (!isNaN(lat) && !isNaN(lng)) drawDraft(kind, L.latLng(lat, lng));
    });
    var when = form.querySelector("[data-when]");
    var later = form.querySelector("[data-later]");
    when.addEventListener("change", function () {
      later.hidden = when.value !== "later";
    });
    form.addEventListener("htmx:configRequest", function (event) {
      if (when.value !== "later") return;
      var local = form.elements.scheduled_local.value;
      var iso = localToIso(local);
      var ahead = (Date.parse(iso) - Date.now()) / 60000;
      if (!iso || ahead < 15 || ahead > 30 * 24 * 60) {
        event.preventDefault();
        form.elements.scheduled_local.setCustomValidity("Pick a time between 15 minutes and 30 days from now.");
        form.elements.scheduled_local.reportValidity();
        return;
      }
      form.elements.scheduled_local.setCustomValidity("");
      event.detail.parameters.scheduled_for = iso;
    });
    // A new form: the next click on the map sets the pickup (then the drop-off).
    if (!draftValue("pickup")) startPicking("pickup", form.querySelector("[data-pick='pickup']"));
  }

  /* ------------------------------------------------------------------ surge layer */

  var surgeLayer = L.layerGroup();
  var surgeSource = null;
  var SURGE_KEY = "hexfleet.surge";

  function surgeColour(m) {
    if (m >= 2.5) return "#b91c1c";
    if (m >= 2.0) return "#ea580c";
    if (m >= 1.5) return "#f59e0b";
    return "#facc15";
  }

  function loadSurge() {
    fetch("/api/v1/surge", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("surge answered " + response.status);
        return response.json();
      })
      .then(function (body) {
        surgeLayer.clearLayers();
        (body.cells || []).forEach(function (cell) {
          L.polygon(cell.boundary, {
            className: "hf-surge-cell",
            color: surgeColour(cell.multiplier),
            fillColor: surgeColour(cell.multiplier),
            fillOpacity: 0.28,
            weight: 1,
            interactive: true,
          })
            .bindTooltip("Surge ×" + cell.multiplier.toFixed(1), { sticky: true, className: "hf-tooltip" })
            .addTo(surgeLayer);
        });
        surgeCount.textContent = body.cells && body.cells.length ? body.cells.length + " cells" : "no surge now";
      })
      .catch(function (error) {
        if (window.console) console.warn("hexfleet: surge:", error);
      });
  }

  function setSurge(on) {
    try {
      window.localStorage.setItem(SURGE_KEY, on ? "1" : "0");
    } catch (e) {}
    surgeToggle.checked = on;
    surgeLegend.hidden = !on;
    if (on) {
      surgeLayer.addTo(map);
      loadSurge();
      surgeSource = new EventSource("/api/v1/stream/surge", { withCredentials: true });
      surgeSource.addEventListener("surge", loadSurge);
    } else {
      surgeLayer.remove();
      if (surgeSource) surgeSource.close();
      surgeSource = null;
    }
  }

  var surgeControl = L.control({ position: "topright" });
  var surgeToggle, surgeLegend, surgeCount;
  surgeControl.onAdd = function () {
    var el = L.DomUtil.create("div", "hf-layer-control");
    el.innerHTML =
      '<label class="hf-toggle"><input type="checkbox" id="surge-toggle"> Surge</label>' +
      '<div class="hf-surge-legend" hidden><span><i class="s1"></i>×1.1–1.4</span><span><i class="s2"></i>×1.5–1.9</span>' +
      '<span><i class="s3"></i>×2.0–2.4</span><span><i class="s4"></i>×2.5+</span><span class="hf-surge-count muted"></span></div>';
    L.DomEvent.disableClickPropagation(el);
    surgeToggle = el.querySelector("input");
    surgeLegend = el.querySelector(".hf-surge-legend");
    surgeCount = el.querySelector(".hf-surge-count");
    surgeToggle.addEventListener("change", function () {
      setSurge(surgeToggle.checked);
    });
    return el;
  };
  surgeControl.addTo(map);

  /* ------------------------------------------------------------------ start */

  var params = new URL(window.location.href).searchParams;
  if (params.get("tab") === "bookings") showTab("bookings", false);
  var surgeWanted = false;
  try {
    surgeWanted = window.localStorage.getItem(SURGE_KEY) === "1";
  } catch (e) {}
  if (surgeWanted) setSurge(true);
  connect(); // the queue loads itself (hx-trigger "load"), then follows these events
})();
