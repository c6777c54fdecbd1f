/* hexfleet: book a ride (/ride).
 *
 * The rider sets pickup and drop-off: a search box per end (lib/place-search.js: the operator's
 * places first, then the geocoder's addresses when GEOCODER_URL is set), a tap on the map (on a
 * place's name when the map has no tiles), "my location" or typed coordinates. The page asks
 * POST /api/v1/quotes for a price (sending the chosen place's name as pickup.label /
 * dropoff.label; a bare point is named by the server after the nearest place), counts its expiry
 * down (and asks again), and books it with POST /api/v1/bookings, then opens the ride's tracking
 * page. A quote for now with no driver of its class near says so and books only once the rider
 * confirms (confirm_no_driver).
 *
 * For tests: window.hexfleetRide = {map, points, quote, markers, places()}.
 */

import { countdown, dateTime, distance, minutes, money, timeTitle } from "./lib/format.js";
import { metresBetween } from "./lib/geo.js";
import { problemText, requestJson } from "./lib/http.js";
import { OUTSIDE_TEXT, serviceArea } from "./ride-service-area.js";
import { placeSearch } from "./lib/place-search.js";
import { goToLogin } from "./lib/session.js";
import { confirmText, needsConfirmation, showAvailability } from "./ride-availability.js";
import { wireLocate } from "./ride-locate.js";
import { passengerFields } from "./ride-passenger.js";
import { coordsText, followPlaces, placeElement } from "./ride-places.js";
import { rfc3339, whenField } from "./ride-when.js";
import { makeMap, pinIcon } from "./rider-map.js";

const L = window.L;

function parseConfig(text) {
  try {
    return JSON.parse(text) || {};
  } catch (error) {
    return {};
  }
}

main();

function main() {
  var form = document.getElementById("ride-form");
  var mapEl = document.getElementById("ride-map");
  var configEl = document.getElementById("ride-config");
  if (!mapEl || !window.L || !configEl) return;
  var config = parseConfig(configEl.textContent);

  var MIN_TRIP_M = 50; // hexfleet.rides.quotes.MIN_TRIP_M
  var MAX_AUTO_REQUOTES = 3; // a page left alone stops asking after this many expiries
  var MAX_LABEL = 200; // hexfleet.places.rules.MAX_LABEL
  var COORDS = /^\s*(-?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$/;
  var WIDE = window.matchMedia ? window.matchMedia("(min-width: 761px)") : { matches: true };

  var places = null; // followPlaces(): the places drawn while the map has no tiles
  var map = makeMap(mapEl, {
    tileUrl: config.tile_url,
    tileAttribution: config.tile_attribution,
    center: config.center,
    zoom: 14,
    advice: "The places you can choose are shown by name.",
    // Without tiles the map still shows where the places are, by name (signed-in riders only).
    onUnavailable: function (theMap) {
      if (!places && form) places = followPlaces(theMap, choosePlaceOnMap);
    },
  });
  L.control.scale({ position: "bottomleft", imperial: false }).addTo(map);

  // {lat, lng, label: the name chosen (sent with the quote) or null, shown: what the field says,
  //  named: whether the field may take the server's name for the point}
  var points = { pickup: null, dropoff: null };
  var markers = { pickup: null, dropoff: null };
  // Whether the pickup is in the service area (said on the map before a price is asked for).
  var area = serviceArea(document.getElementById("ride-map-notice"));
  var line = null;
  var mode = "pickup";
  var quote = null; // the last quote (API JSON) and its expiry in ms: quote.expiresAtMs
  window.hexfleetRide = {
    map: map,
    points: points,
    quote: null,
    markers: markers,
    places: function () {
      return places ? places.layer() : null;
    },
  };

  if (!form) return; // no fares: the page says booking is not open; the map stays for looks

  /* ------------------------------------------------------------------ elements */

  var $ = function (id) {
    return document.getElementById(id);
  };
  var inputs = { pickup: $("pickup-input"), dropoff: $("dropoff-input") };
  var messages = { pickup: $("pickup-msg"), dropoff: $("dropoff-msg") };
  var lists = { pickup: $("pickup-suggestions"), dropoff: $("dropoff-suggestions") };
  var quoteEl = $("quote");
  var bookBar = $("book-bar");
  var bookButton = $("book-button");
  var bookError = $("book-error");
  var confirmBox = $("book-confirm");
  var whenMsg = $("when-msg");
  var nameInput = $("passenger-name");
  var phoneInput = $("passenger-phone");
  var notesInput = $("notes");

  function say(el, text, kind) {
    if (!el) return;
    el.textContent = text || "";
    el.dataset.kind = kind || "error";
  }

  /* ------------------------------------------------------------------ points on the map */

  function setMode(next) {
    mode = next;
    document.querySelectorAll(".rd-map-mode-btn").forEach(function (btn) {
      btn.setAttribute("aria-pressed", btn.dataset.mode === next ? "true" : "false");
    });
  }

  // options.label: the name the rider chose (a place, an address); options.shown: what the field
  // says instead when no name was chosen (else the coordinates, until the quote names the point).
  function setPoint(kind, lat, lng, options) {
    options = options || {};
    var label = options.label ? String(options.label).slice(0, MAX_LABEL) : null;
    var point = {
      lat: lat,
      lng: lng,
      label: label,
      shown: label || options.shown || coordsText(lat, lng),
      named: !label && !options.shown,
    };
    points[kind] = point;
    showPointText(kind);
    say(messages[kind], "");
    if (markers[kind]) {
      markers[kind].setLatLng([lat, lng]);
    } else {
      var marker = L.marker([lat, lng], {
        icon: pinIcon(kind),
        draggable: true,
        keyboard: false,
        title: kind === "pickup" ? "Pickup" : "Drop-off",
      });
      marker.on("dragend", function () {
        var at = marker.getLatLng();
        setPoint(kind, at.lat, at.lng);
      });
      marker.on("add", function () {
        marker.getElement().setAttribute("data-point", kind);
      });
      marker.addTo(map);
      markers[kind] = marker;
    }
    drawLine();
    showPoints();
    userActed();
    if (kind === "pickup") {
      // Said on the map at once; the price waits for the answer (no quote to be refused).
      area.check(lat, lng).then(function () {
        quoteSoon();
      });
      return;
    }
    quoteSoon();
  }

  // The field shows the point's name; its coordinates are in the title (hover).
  function showPointText(kind) {
    var point = points[kind];
    inputs[kind].value = point.shown;
    inputs[kind].title = coordsText(point.lat, point.lng);
  }

  function clearPoint(kind) {
    inputs[kind].removeAttribute("title");
    if (!points[kind]) return;
    if (kind === "pickup") area.clear();
    points[kind] = null;
    if (markers[kind]) {
      markers[kind].remove();
      markers[kind] = null;
    }
    drawLine();
    resetQuote();
  }

  function drawLine() {
    if (line) {
      line.remove();
      line = null;
    }
    if (points.pickup && points.dropoff) {
      line = L.polyline(
        [
          [points.pickup.lat, points.pickup.lng],
          [points.dropoff.lat, points.dropoff.lng],
        ],
        { className: "hf-route-line", color: "#2563eb", weight: 3, opacity: 0.7, dashArray: "6 8", interactive: false }
      ).addTo(map);
    }
  }

  function showPoints() {
    var shown = [points.pickup, points.dropoff].filter(Boolean);
    if (!shown.length) return;
    var bounds = map.getBounds().pad(-0.12); // a pin at the very edge (under a control) is as good as out
    var outside = shown.some(function (p) {
      return !bounds.contains([p.lat, p.lng]);
    });
    if (shown.length === 2 && outside) {
      map.fitBounds(
        shown.map(function (p) {
          return [p.lat, p.lng];
        }),
        { padding: [48, 48], maxZoom: 16 }
      );
    } else if (outside) {
      map.panTo([shown[0].lat, shown[0].lng]);
    }
  }

  // First the pickup, then the drop-off; after that a tap moves whichever is chosen.
  function afterMapPick(kind) {
    if (kind === "pickup" && !points.dropoff) setMode("dropoff");
  }

  map.on("click", function (event) {
    var kind = mode;
    setPoint(kind, event.latlng.lat, event.latlng.lng);
    afterMapPick(kind);
  });

  // A place tapped on a map without tiles: chosen by its name, as from the search box.
  function choosePlaceOnMap(place) {
    var kind = mode;
    setPoint(kind, place.lat, place.lng, { label: place.name });
    afterMapPick(kind);
  }

  document.querySelectorAll(".rd-map-mode-btn").forEach(function (btn) {
    btn.addEventListener("click", function () {
      setMode(btn.dataset.mode);
    });
  });

  /* ------------------------------------------------------------------ searching a place */

  function parseCoords(text) {
    var m = COORDS.exec(text || "");
    if (!m) return null;
    var lat = parseFloat(m[1]);
    var lng = parseFloat(m[2]);
    if (!isFinite(lat) || !isFinite(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180) return null;
    if (lat === 0 && lng === 0) return null;
    return { lat: lat, lng: lng };
  }

  var searches = {};

  // A result picked from the list: the operator's place by its name, a geocoder's answer by its
  // address (the name alone, "Hauptstraße", says too little).
  function choosePlace(kind, result) {
    var label = result.source === "geocoder" ? result.address || result.name : result.name;
    setPoint(kind, result.lat, result.lng, { label: label });
    map.panTo([result.lat, result.lng]);
    if (kind === "pickup" && !points.dropoff) {
      setMode("dropoff");
      inputs.dropoff.focus();
    } else if (points.pickup && points.dropoff && !nameInput.value.trim()) {
      nameInput.focus(); // both ends set by keyboard: the passenger is next while the price comes
    }
  }

  function commitTyped(kind) {
    var text = inputs[kind].value.trim();
    if (!text || (points[kind] && points[kind].shown === text)) return;
    var coords = parseCoords(text);
    if (coords) {
      searches[kind].close();
      setPoint(kind, coords.lat, coords.lng);
      map.panTo([coords.lat, coords.lng]);
      return;
    }
    // Enter before the list came: look it up now; Enter again picks the first.
    if (text.length >= 2) searches[kind].search(text);
    else say(messages[kind], "Type a place's name, tap the map, or type coordinates (lat, lng).", "info");
  }

  ["pickup", "dropoff"].forEach(function (kind) {
    var input = inputs[kind];
    searches[kind] = placeSearch({
      input: input,
      list: lists[kind],
      near: function () {
        var c = map.getCenter();
        return { lat: c.lat, lng: c.lng };
      },
      onPick: function (result) {
        choosePlace(kind, result);
      },
      onMessage: function (text, how) {
        say(messages[kind], text, how);
      },
      onUnauthorized: goToLogin,
      skip: function (text) {
        return !!parseCoords(text);
      },
    });
    input.addEventListener("focus", function () {
      setMode(kind);
    });
    input.addEventListener("input", function () {
      var text = input.value.trim();
      if (points[kind] && points[kind].shown !== text) clearPoint(kind);
      say(messages[kind], "");
    });
    input.addEventListener("keydown", function (event) {
      // The search box handles Enter on an open list (it picks); otherwise Enter commits what
      // was typed, and never books the ride.
      if (event.key !== "Enter" || event.defaultPrevented) return;
      event.preventDefault();
      commitTyped(kind);
    });
    input.addEventListener("change", function () {
      var text = input.value.trim();
      if (parseCoords(text)) commitTyped(kind);
    });
  });

  // The first thing to do is to say where from: on a computer, the cursor waits there.
  if (WIDE.matches && !document.querySelector("[autofocus]")) inputs.pickup.focus({ preventScroll: true });

  /* ------------------------------------------------------------------ my location */

  var locateButton = $("locate-btn");
  if (locateButton) {
    wireLocate(locateButton, {
      found: function (lat, lng, accuracy) {
        setPoint("pickup", lat, lng, { shown: "My location" + (accuracy ? " (±" + accuracy + " m)" : "") });
        map.setView([lat, lng], Math.max(map.getZoom(), 15));
        if (!points.dropoff) setMode("dropoff");
      },
      say: function (text, kind) {
        say(messages.pickup, text, kind);
      },
    });
  }

  /* ------------------------------------------------------------------ when, and which class */

  var when = whenField({
    form: form,
    field: $("pickup-at"),
    panel: $("when-later"),
    message: whenMsg,
    zoneName: $("tz-name"),
    window: config,
    say: say,
    onChange: function (later, valid) {
      bookButton.textContent = later ? "Schedule ride" : "Book now";
      userActed();
      if (valid) quoteSoon();
      else resetQuote();
    },
  });

  form.querySelectorAll('input[name="vehicle_class"]').forEach(function (radio) {
    radio.addEventListener("change", function () {
      userActed();
      quoteSoon();
    });
  });

  function vehicleClass() {
    var checked = form.querySelector('input[name="vehicle_class"]:checked');
    return checked ? checked.value : "standard";
  }

  /* ------------------------------------------------------------------ the quote */

  var quoteTimer = null;
  var countdownTimer = null;
  var quoteSeq = 0;
  var quoteController = null;
  var autoRequotes = 0;

  function userActed() {
    autoRequotes = 0;
  }

  function setQuoteState(state) {
    quoteEl.dataset.state = state;
    if (state !== "ready") hideConfirm();
    form.dataset.priced = state === "ready" || state === "expired" ? "true" : "false";
    updateBookButton();
  }

  function resetQuote() {
    quote = window.hexfleetRide.quote = null;
    if (quoteController) quoteController.abort();
    window.clearInterval(countdownTimer);
    setQuoteState("empty");
  }

  function quoteSoon() {
    window.clearTimeout(quoteTimer);
    quoteTimer = window.setTimeout(requestQuote, 200);
  }

  function endOf(kind) {
    var point = points[kind];
    var end = { lat: point.lat, lng: point.lng };
    if (point.label) end.label = point.label;
    return end;
  }

  function requestQuote() {
    if (!points.pickup || !points.dropoff) return resetQuote();
    if (area.outside) {
      resetQuote();
      return quoteFailed(OUTSIDE_TEXT, false);
    }
    if (metresBetween(points.pickup, points.dropoff) < MIN_TRIP_M) {
      resetQuote();
      return quoteFailed("Pickup and drop-off are the same place: move one of them.", false);
    }
    var later = when.later();
    var date = when.date(false);
    if (later && !date) return resetQuote();
    var body = { pickup: endOf("pickup"), dropoff: endOf("dropoff"), vehicle_class: vehicleClass() };
    if (date) body.pickup_at = rfc3339(date);
    if (quoteController) quoteController.abort();
    quoteController = new AbortController();
    var seq = ++quoteSeq;
    window.clearInterval(countdownTimer);
    setQuoteState("loading");
    requestJson("/api/v1/quotes", { method: "POST", body: body, signal: quoteController.signal })
      .then(function (answer) {
        if (seq !== quoteSeq) return;
        if (answer.status === 201 && answer.body) return showQuote(answer.body);
        if (answer.status === 401) return goToLogin();
        quoteFailed(problemText(answer, "Could not get a price"), true);
      })
      .catch(function (error) {
        if (error && error.name === "AbortError") return;
        if (seq === quoteSeq) quoteFailed("No connection to the server. Check your network and try again.", true);
      });
  }

  function quoteFailed(text, retry) {
    quote = window.hexfleetRide.quote = null;
    $("quote-error-text").textContent = text;
    quoteEl.querySelector(".rd-quote-error .btn").hidden = !retry;
    setQuoteState("error");
  }

  function price(minor) {
    return money(minor, quote.currency);
  }

  var BREAKDOWN = [
    ["fixed_fare_minor", "Fixed fare"],
    ["base_minor", "Base fare"],
    ["distance_minor", "Distance"],
    ["time_minor", "Time"],
    ["surge_minor", "Surge"],
    ["booking_fee_minor", "Booking fee"],
    ["minimum_fare_minor", "Up to the minimum fare"],
  ];

  // The quote names both ends: a bare point (a tap, typed coordinates) takes the server's name
  // for it ("Alexanderplatz, 60 m"), in its field and in the price's route.
  function showQuotePlaces(body) {
    ["pickup", "dropoff"].forEach(function (kind) {
      var point = points[kind];
      var end = body[kind] || {};
      if (point && point.named && end.label && inputs[kind].value.trim() === point.shown) {
        point.shown = end.label;
        showPointText(kind);
      }
      var slot = $("quote-" + kind);
      if (slot) slot.replaceChildren(placeElement(end.label || (point && point.label), end.lat, end.lng));
    });
  }

  function showQuote(body) {
    quote = window.hexfleetRide.quote = body;
    quote.expiresAtMs = Date.parse(body.expires_at);
    $("quote-price").textContent = price(body.price_minor);
    var surge = $("quote-surge");
    surge.hidden = !(body.surge_multiplier > 1);
    surge.textContent = "Busy: ×" + Number(body.surge_multiplier).toFixed(1);
    surge.title = "Prices are higher while demand is high nearby";
    showQuotePlaces(body);
    $("quote-distance").textContent = distance(body.distance_m);
    $("quote-duration").textContent = minutes(body.duration_s);
    var etaLabel = $("quote-eta-label");
    var eta = $("quote-eta");
    eta.removeAttribute("title");
    if (body.pickup_at) {
      etaLabel.textContent = "Pickup";
      eta.textContent = dateTime(body.pickup_at);
      eta.title = timeTitle(body.pickup_at);
    } else {
      etaLabel.textContent = "Nearest driver";
      eta.textContent =
        body.eta_pickup_s === null || body.eta_pickup_s === undefined
          ? "None nearby right now"
          : minutes(body.eta_pickup_s) + " away";
    }
    showAvailability($("quote-availability"), body, config.class_labels || {}, suggestClass);
    var list = $("quote-breakdown");
    list.innerHTML = "";
    var parts = body.breakdown || {};
    BREAKDOWN.forEach(function (row) {
      var value = parts[row[0]];
      if (typeof value !== "number" || (value === 0 && row[0] !== "base_minor")) return;
      if (row[0] === "base_minor" && parts.fixed_fare) return; // a fixed fare replaces the meter
      var label = row[1];
      if (row[0] === "fixed_fare_minor" && parts.fixed_fare) label = parts.fixed_fare.label;
      if (row[0] === "surge_minor") label += " ×" + Number(parts.surge_multiplier || body.surge_multiplier).toFixed(1);
      appendRow(list, label, price(value));
    });
    // Zone fees (an airport's pickup or drop-off fee), each its own line.
    (parts.zone_lines || []).forEach(function (line) {
      appendRow(list, line.label, price(line.amount_minor));
    });
    appendRow(list, "Total", price(parts.total_minor !== undefined ? parts.total_minor : body.price_minor), "rd-total");
    quoteEl.querySelector(".rd-quote-renew").hidden = true;
    setQuoteState("ready");
    // On a computer the panel brings the price (and what it says about drivers) into view,
    // clear of the Book button's bar; on a phone the page stays where the rider's finger is.
    if (WIDE.matches) quoteEl.scrollIntoView({ block: "nearest" });
    tick();
    countdownTimer = window.setInterval(tick, 1000);
  }

  // A class the quote says has a driver near: one tap chooses it and asks for its price.
  function suggestClass(vehicleClass) {
    var radio = form.querySelector('input[name="vehicle_class"][value="' + vehicleClass + '"]');
    if (!radio) return;
    radio.checked = true;
    radio.focus({ preventScroll: true });
    userActed();
    requestQuote();
  }

  function appendRow(list, label, value, className) {
    var wrap = document.createElement("div");
    if (className) wrap.className = className;
    var dt = document.createElement("dt");
    dt.textContent = label;
    var dd = document.createElement("dd");
    dd.textContent = value;
    wrap.appendChild(dt);
    wrap.appendChild(dd);
    list.appendChild(wrap);
  }

  function tick() {
    if (!quote) return;
    var left = Math.floor((quote.expiresAtMs - Date.now()) / 1000);
    var expiry = $("quote-expiry");
    if (left > 0) {
      expiry.textContent = "Price held for " + countdown(left);
      expiry.dataset.urgent = left <= 30 ? "true" : "false";
      return;
    }
    window.clearInterval(countdownTimer);
    expiry.textContent = "This price has expired.";
    expiry.dataset.urgent = "true";
    setQuoteState("expired");
    // Ask again while someone is looking; a page left alone stops after a few.
    if (!document.hidden && autoRequotes < MAX_AUTO_REQUOTES) {
      autoRequotes++;
      requestQuote();
    } else {
      quoteEl.querySelector(".rd-quote-renew").hidden = false;
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && quoteEl.dataset.state === "expired") requestQuote();
  });

  quoteEl.querySelectorAll('[data-action="requote"]').forEach(function (btn) {
    btn.addEventListener("click", function () {
      userActed();
      requestQuote();
    });
  });

  function quoteUsable() {
    return quote && quoteEl.dataset.state === "ready" && quote.expiresAtMs > Date.now();
  }

  function updateBookButton() {
    bookButton.disabled = !quoteUsable() || sending;
  }

  /* ------------------------------------------------------------------ no driver near: confirm */

  // "No XL car is near: we'll keep looking for 5 minutes." and a button that books anyway; the
  // Book button steps aside meanwhile.
  function askToConfirm(text) {
    $("book-confirm-text").textContent = text;
    confirmBox.hidden = false;
    bookButton.hidden = true;
    $("confirm-book").focus();
  }

  function hideConfirm() {
    if (!confirmBox || confirmBox.hidden) return;
    confirmBox.hidden = true;
    bookButton.hidden = false;
  }

  $("confirm-back").addEventListener("click", function () {
    hideConfirm();
    var suggestion = quoteEl.querySelector("[data-suggest]");
    (suggestion || bookButton).focus();
  });

  $("confirm-book").addEventListener("click", function () {
    book(true);
  });

  /* ------------------------------------------------------------------ booking */

  var sending = false;
  var passenger = passengerFields({
    name: nameInput,
    phone: phoneInput,
    nameMessage: $("passenger-name-msg"),
    phoneMessage: $("passenger-phone-msg"),
    say: say,
  });

  function showBookError(text) {
    bookError.textContent = text;
    bookError.hidden = !text;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    book(false);
  });

  function book(confirmed) {
    showBookError("");
    if (sending) return;
    var okPassenger = passenger.check();
    var later = when.later();
    var date = when.date(false);
    if (later && !date) return;
    if (!quoteUsable()) {
      showBookError("Get a price first: set the pickup and the drop-off.");
      if (points.pickup && points.dropoff) requestQuote();
      return;
    }
    if (!okPassenger) {
      hideConfirm();
      (nameInput.getAttribute("aria-invalid") === "true" ? nameInput : phoneInput).focus();
      return;
    }
    if (!confirmed && !date && needsConfirmation(quote)) {
      var a = quote.availability;
      askToConfirm(confirmText(a.notice, a.keep_looking_minutes));
      return;
    }
    var body = {
      quote_id: quote.quote_id,
      passenger: { name: nameInput.value.trim(), phone: phoneInput.value.trim() },
    };
    if (notesInput.value.trim()) body.notes = notesInput.value.trim();
    if (date) body.scheduled_for = rfc3339(date);
    if (confirmed) body.confirm_no_driver = true;
    sending = true;
    updateBookButton();
    bookBar.setAttribute("aria-busy", "true");
    var label = bookButton.textContent;
    bookButton.textContent = later ? "Scheduling…" : "Booking…";
    requestJson("/api/v1/bookings", { method: "POST", body: body })
      .then(function (answer) {
        if (answer.status === 201 && answer.body) {
          var target = "/rides";
          try {
            target = new URL(answer.body.tracking_url, window.location.href).pathname;
          } catch (e) {
            /* the rides list shows it too */
          }
          window.location.assign(target);
          return;
        }
        sending = false;
        bookBar.removeAttribute("aria-busy");
        bookButton.textContent = label;
        updateBookButton();
        if (answer.status === 401) return goToLogin();
        var text = problemText(answer, "The ride could not be booked");
        var type = (answer.body && answer.body.type) || "";
        if (answer.status === 409 && /\/no-driver-near$/.test(type)) {
          // Nobody of the class is near (the quote did not say, or it changed): the same choice.
          var near = quote && quote.availability && quote.availability.notice;
          return askToConfirm(confirmText(near || text, answer.body.keep_looking_minutes));
        }
        hideConfirm();
        if (answer.status === 409) {
          showBookError("This price can no longer be booked (it expired or was used). A new price is on its way: check it and book again.");
          requestQuote();
          return;
        }
        if (/passenger\.phone/.test(text)) say($("passenger-phone-msg"), "This is not a phone number the driver can call.");
        else if (/passenger\.name/.test(text)) say($("passenger-name-msg"), "Enter the passenger's name (up to 200 characters).");
        else if (/scheduled_for|pickup_at/.test(text)) say(whenMsg, text);
        showBookError(text);
      })
      .catch(function () {
        sending = false;
        bookBar.removeAttribute("aria-busy");
        bookButton.textContent = label;
        updateBookButton();
        showBookError("No connection to the server: the ride was not booked. Check your network and try again.");
      });
  }
}
