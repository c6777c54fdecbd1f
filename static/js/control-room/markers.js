/* A marker per driver: its look (status, stale, attention, heading, selected), its tooltip or
 * permanent name label ("Show names"), and whether the filter shows it.
 *
 * Markers live in a layer while they match the filter. Below CLUSTER_BELOW_ZOOM that is a
 * cluster group (vendored Leaflet.markercluster), so a city's worth of drivers is not one
 * blob; from that zoom on, a plain layer, where markers glide freely (the cluster group
 * re-files a marker on every move, which suits one jump per fix, not 60 frames a second).
 * Every marker element carries data-driver-id (for tests, and for the keyboard).
 */

import { escapeHtml } from "../lib/html.js";
import { needsAttention, isFlagged } from "./attention.js";
import { STATUSES, drivers, markers, noteSeen, parseTime, selection, statusLabel } from "./fleet.js";
import { glideTo, land, landAll } from "./glide.js";
import { matchesFilter } from "./match.js";
import { sheetOverlap } from "./view.js";

const L = window.L;
const CLUSTER_BELOW_ZOOM = 13;
const DEFAULT_INTERVAL_MS = 1000;
const FAR_M = 50000; // no gliding across the map

let map = null;
let onSelect = () => {};
let staleAfterMs = 60000;
let showNames = false;
const plainLayer = L.layerGroup();
let clusterLayer = null;
let markerLayer = plainLayer;

/** Start on `theMap`; `select(id)` runs when a marker is clicked or pressed. */
export function startMarkers(theMap, { select, staleAfter }) {
  map = theMap;
  onSelect = select;
  staleAfterMs = staleAfter;
  clusterLayer = L.markerClusterGroup
    ? L.markerClusterGroup({ maxClusterRadius: 48, showCoverageOnHover: false, spiderfyOnMaxZoom: true, iconCreateFunction: clusterIcon })
    : null;
  markerLayer = plainLayer.addTo(map);
  addNamesButton();
  map.on("zoomend", chooseMarkerLayer);
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

/** Bring a marker's classes and label up to date with its driver. */
export function applyMarkerClasses(driver) {
  const el = driver.marker.getElement();
  if (!el) return;
  const status = STATUSES[driver.status] ? driver.status : "off_duty";
  el.classList.remove("status-available", "status-busy", "status-off_duty");
  el.classList.add("status-" + status);
  el.classList.toggle("is-stale", !!driver.stale);
  el.classList.toggle("needs-attention", needsAttention(driver));
  el.classList.toggle("is-selected", driver.id === selection.driverId);
  el.classList.toggle("has-heading", driver.heading !== null && driver.heading !== undefined);
  const body = el.querySelector(".hf-marker-body");
  if (body) body.style.transform = "rotate(" + (driver.heading || 0) + "deg)";
  const notes = [statusLabel(driver)];
  if (driver.stale) notes.push("stale");
  else if (isFlagged(driver)) notes.push("last fix flagged");
  el.setAttribute("aria-label", driver.name + ", " + notes.join(", "));
}

/* ------------------------------------------------------------------ names */

function bindTooltip(driver) {
  let html = escapeHtml(driver.name);
  if (showNames && driver.plate) html += ' <span class="hf-tooltip-plate">' + escapeHtml(driver.plate) + "</span>";
  driver.marker.unbindTooltip();
  driver.marker.bindTooltip(html, {
    direction: showNames ? "right" : "top",
    offset: showNames ? [14, 0] : [0, 0],
    permanent: showNames,
    className: "hf-tooltip" + (showNames ? " hf-tooltip-name" : ""),
  });
}

/** "Show names": permanent labels with name and plate beside every marker. */
function addNamesButton() {
  const control = L.control({ position: "topright" });
  control.onAdd = () => {
    const el = L.DomUtil.create("div", "hf-map-tools");
    el.innerHTML =
      '<button type="button" class="hf-tool" id="toggle-names" aria-pressed="false" title="Show every driver\'s name and plate">Show names</button>';
    L.DomEvent.disableClickPropagation(el);
    el.querySelector("button").addEventListener("click", (event) => {
      showNames = !showNames;
      drivers.forEach(bindTooltip);
      event.currentTarget.setAttribute("aria-pressed", showNames ? "true" : "false");
    });
    return el;
  };
  control.addTo(map);
}

/* ------------------------------------------------------------------ drivers */

/** The driver's record, made (with its marker) on first sight. */
export function ensureDriver(id, info) {
  let driver = drivers.get(id);
  if (driver) return driver;
  const marker = L.marker(L.latLng(info.lat, info.lng), {
    driverId: id,
    icon: markerIcon(),
    keyboard: true,
    title: info.name || "Driver #" + id,
    riseOnHover: true,
  });
  driver = {
    id,
    marker,
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
  drivers.set(id, driver);
  markers.set(id, marker);
  marker.on("add", () => {
    const el = marker.getElement();
    el.setAttribute("data-driver-id", String(id));
    applyMarkerClasses(driver);
    // Markers are tab stops (keyboard: true): Enter or Space opens the driver, as a click does.
    el.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " " || event.key === "Spacebar") {
        event.preventDefault();
        event.stopPropagation();
        onSelect(id);
      }
    });
  });
  marker.on("click", () => onSelect(id));
  bindTooltip(driver);
  setVisible(driver, matchesFilter(driver));
  return driver;
}

/** A driver as /api/v1/drivers lists it. */
export function updateFromSnapshot(d) {
  if (d.lat === null || d.lat === undefined || d.lng === null || d.lng === undefined) return;
  const existing = drivers.get(d.id);
  const driver = ensureDriver(d.id, d);
  driver.name = d.name || driver.name;
  driver.plate = d.vehicle_plate || "";
  driver.phone = d.phone || "";
  driver.status = d.status || driver.status;
  driver.stale = !!d.stale;
  driver.problemAt = d.last_problem ? parseTime(d.last_problem_at) : null;
  noteSeen(d.id, parseTime(d.last_seen));
  if (existing) {
    const ts = parseTime(d.ts);
    // Only move if the snapshot is newer than what the stream already showed.
    if (ts !== null && (driver.lastTs === null || ts > driver.lastTs)) {
      driver.lastTs = ts;
      driver.lastFixAt = parseTime(d.last_seen) || driver.lastFixAt;
      driver.heading = d.heading;
      moveTo(driver, L.latLng(d.lat, d.lng));
    }
    bindTooltip(driver);
  }
  refresh(driver);
}

/** Classes and visibility after the driver's record changed. */
export function refresh(driver) {
  applyMarkerClasses(driver);
  setVisible(driver, matchesFilter(driver));
}

/** Glide to a new position over the driver's own ping interval (a jump when it cannot be seen). */
export function moveTo(driver, target) {
  const instant =
    document.hidden || !driver.visible || markerLayer === clusterLayer || driver.marker.getLatLng().distanceTo(target) > FAR_M;
  glideTo(driver, target, instant ? 0 : driver.interval);
}

/** Mark drivers stale whose last fix is older than STALE_AFTER_S (the stream says nothing then). */
export function markStaleDrivers() {
  const now = Date.now();
  drivers.forEach((driver) => {
    const stale = now - driver.lastFixAt > staleAfterMs;
    if (stale !== driver.stale) {
      driver.stale = stale;
      refresh(driver);
    }
  });
}

/* ------------------------------------------------------------------ the filter and the layers */

function setVisible(driver, visible) {
  if (driver.visible === visible) return;
  driver.visible = visible;
  if (visible) {
    markerLayer.addLayer(driver.marker);
  } else {
    land(driver);
    markerLayer.removeLayer(driver.marker);
  }
}

/** Show the markers that match the filter in force, hide the others. */
export function applyFilterToMarkers() {
  drivers.forEach((driver) => setVisible(driver, matchesFilter(driver)));
}

function clusterIcon(cluster) {
  const attention = cluster.getAllChildMarkers().some((marker) => {
    const driver = drivers.get(marker.options.driverId);
    return driver && needsAttention(driver);
  });
  const count = cluster.getChildCount();
  const size = count < 10 ? 34 : count < 100 ? 40 : 46;
  return L.divIcon({ className: "hf-cluster" + (attention ? " has-attention" : ""), html: "<span>" + count + "</span>", iconSize: [size, size] });
}

/** Clusters below CLUSTER_BELOW_ZOOM, plain markers from there on. */
export function chooseMarkerLayer() {
  const want = clusterLayer && map.getZoom() < CLUSTER_BELOW_ZOOM ? clusterLayer : plainLayer;
  if (want === markerLayer) return;
  landAll(); // the layers are about to change hands
  const shown = [];
  drivers.forEach((driver) => {
    if (driver.visible) shown.push(driver.marker);
  });
  map.removeLayer(markerLayer);
  markerLayer.clearLayers();
  markerLayer = want;
  if (want.addLayers) want.addLayers(shown);
  else shown.forEach((marker) => want.addLayer(marker));
  map.addLayer(want);
  map.getContainer().classList.toggle("is-clustered", want === clusterLayer);
}

/** Frame the drivers the filter shows (all of them when it shows none). */
export function fitToDrivers() {
  let points = [];
  drivers.forEach((driver) => {
    if (driver.visible) points.push(driver.marker.getLatLng());
  });
  if (!points.length) points = Array.from(drivers.values(), (driver) => driver.marker.getLatLng());
  if (!points.length) return;
  map.fitBounds(L.latLngBounds(points), {
    paddingTopLeft: [40, 40],
    paddingBottomRight: [40, 40 + sheetOverlap(map.getContainer())],
    maxZoom: 15,
    animate: false,
  });
}
