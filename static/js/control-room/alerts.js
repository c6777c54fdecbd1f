/* The Alerts tab: what the alerts desk raised (GET /api/v1/alerts), kept live by the staff
 * stream's `alert` events; most urgent and newest first, a count badge on the tab, a beep for
 * each new alert (alert-sound.js), acknowledge with a note, and open at the booking or driver. */

import { ago, dateTime, sameDay, time, timeTitle } from "../lib/format.js";
import { escapeHtml } from "../lib/html.js";
import { problemText, requestJson } from "../lib/http.js";
import { serverNow } from "../lib/server-clock.js";
import { beep, startSound } from "./alert-sound.js";
import { selectBooking } from "./bookings.js";
import { selectDriver } from "./detail.js";
import { onStaff } from "./staff-stream.js";
import { showTab } from "./tabs.js";
import { toast } from "./toast.js";

const STATE_RANK = { open: 0, acknowledged: 1 };
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };
const SEVERITY_WORD = { critical: "Critical", warning: "Warning", info: "Info" };
const RESOLUTION_WORDS = {
  assigned: "a driver was assigned",
  cancelled: "the booking was cancelled",
  no_driver: "the booking found no driver",
  arrived: "the driver arrived",
  fresh_fix: "the driver's position is back",
  moving: "the driver is moving",
  closing_in: "the driver is closing in",
  drivers_near: "drivers came near",
  ride_ended: "the ride ended",
  new_occurrence: "replaced by a newer alert",
};

const alerts = new Map(); // id → alert JSON (unresolved only)
let loaded = false;

function list() {
  return document.getElementById("alert-list");
}

function sorted() {
  return Array.from(alerts.values()).sort(
    (a, b) =>
      (STATE_RANK[a.state] ?? 9) - (STATE_RANK[b.state] ?? 9) ||
      (SEVERITY_RANK[a.severity] ?? 9) - (SEVERITY_RANK[b.severity] ?? 9) ||
      Date.parse(b.raised_at) - Date.parse(a.raised_at) ||
      b.id - a.id,
  );
}

function openCount() {
  let n = 0;
  alerts.forEach((a) => {
    if (a.state === "open") n += 1;
  });
  return n;
}

function showBadge() {
  const badge = document.getElementById("alerts-count");
  if (!badge) return;
  const n = openCount();
  badge.hidden = n === 0;
  badge.textContent = String(n);
  badge.setAttribute("aria-label", n + (n === 1 ? " open alert" : " open alerts"));
  const tab = document.getElementById("tab-alerts");
  if (tab) tab.classList.toggle("has-critical", sorted().some((a) => a.state === "open" && a.severity === "critical"));
}

/** "9:20 PM" today, "Mon, Dec 7, 9:20 PM" on another day (the viewer's locale and zone). */
function when(value) {
  return sameDay(value, new Date(serverNow())) ? time(value) : dateTime(value);
}

function rowHtml(a) {
  const raised = escapeHtml(a.raised_at);
  const opens = [];
  if (a.booking_id) opens.push(`<button type="button" class="btn btn-sm" data-open-booking="${a.booking_id}">Booking #${a.booking_id}</button>`);
  if (a.driver_id) opens.push(`<button type="button" class="btn btn-sm" data-open-driver="${a.driver_id}">Driver #${a.driver_id}</button>`);
  const acked =
    a.state === "acknowledged"
      ? `<p class="alert-ack small">Acknowledged by ${escapeHtml(a.acknowledged_by || "a dispatcher")}
           <time datetime="${escapeHtml(a.acknowledged_at)}" title="${escapeHtml(timeTitle(a.acknowledged_at))}">${escapeHtml(when(a.acknowledged_at))}</time>${
             a.note ? `: <q>${escapeHtml(a.note)}</q>` : ""
           }</p>`
      : "";
  const ack =
    a.state === "open"
      ? `<button type="button" class="btn btn-sm btn-primary" data-ack="${a.id}" aria-expanded="false" aria-controls="ack-${a.id}">Acknowledge</button>`
      : "";
  return `<li class="alert-row sev-${escapeHtml(a.severity)} state-${escapeHtml(a.state)}" data-alert-id="${a.id}">
    <div class="alert-head">
      <span class="alert-sev">${escapeHtml(SEVERITY_WORD[a.severity] || a.severity)}</span>
      <strong class="alert-label">${escapeHtml(a.label)}</strong>
      <time class="alert-age" datetime="${raised}" title="${escapeHtml(timeTitle(a.raised_at))}"></time>
    </div>
    <p class="alert-summary">${escapeHtml(a.summary)}</p>
    ${acked}
    <div class="alert-actions">${opens.join("")}${ack}</div>
    <form class="alert-ack-form" id="ack-${a.id}" data-ack-form="${a.id}" hidden>
      <label for="ack-note-${a.id}">Note <span class="muted">(optional)</span></label>
      <textarea id="ack-note-${a.id}" name="note" rows="2" maxlength="500" placeholder="What you did or will do"></textarea>
      <p class="alert-ack-error small" role="alert" hidden></p>
      <div class="alert-actions">
        <button type="submit" class="btn btn-sm btn-primary">Acknowledge</button>
        <button type="button" class="btn btn-sm" data-ack-cancel="${a.id}">Cancel</button>
      </div>
    </form>
  </li>`;
}

function busyForm() {
  const root = list();
  if (!root) return null;
  return Array.from(root.querySelectorAll("form[data-ack-form]")).find(
    (form) => !form.hidden && (form.contains(document.activeElement) || form.note.value !== ""),
  );
}

function render() {
  const root = list();
  if (!root) return;
  showBadge();
  const empty = document.getElementById("alerts-empty");
  if (empty) empty.hidden = !loaded || alerts.size > 0;
  // Keep what the dispatcher is typing: its row is kept as it is, the others redrawn around it.
  const keep = busyForm();
  const keptRow = keep ? keep.closest(".alert-row") : null;
  const html = sorted()
    .map((a) => (keptRow && Number(keptRow.dataset.alertId) === a.id ? `<li data-keep="${a.id}"></li>` : rowHtml(a)))
    .join("");
  root.innerHTML = html;
  if (keptRow) {
    const slot = root.querySelector("[data-keep]");
    if (slot) slot.replaceWith(keptRow);
    keep.note.focus({ preventScroll: true });
  }
  tickAges();
}

function tickAges() {
  const now = serverNow();
  document.querySelectorAll("#alert-list .alert-age[datetime]").forEach((el) => {
    el.textContent = ago((now - Date.parse(el.getAttribute("datetime"))) / 1000);
  });
}

async function load() {
  const answer = await requestJson("/api/v1/alerts").catch(() => null);
  const status = document.getElementById("alerts-status");
  if (!answer || !answer.ok || !answer.body) {
    if (status) status.textContent = answer ? problemText(answer, "Could not load the alerts") : "Could not reach the server.";
    return;
  }
  if (status) status.textContent = "";
  alerts.clear();
  answer.body.alerts.forEach((a) => alerts.set(a.id, a));
  loaded = true;
  render();
}

function changed(event) {
  const a = event.alert;
  if (!a) return;
  if (a.state === "resolved") {
    if (alerts.delete(a.id)) render();
    return;
  }
  const isNew = event.action === "raised" && !alerts.has(a.id);
  alerts.set(a.id, a);
  render();
  if (isNew) {
    beep(a.severity === "critical");
    announce(a);
  }
}

function announce(a) {
  const live = document.getElementById("alerts-live");
  if (live) live.textContent = `New alert: ${a.label}. ${a.summary}.`;
}

function openForm(id, open) {
  const form = document.getElementById("ack-" + id);
  const button = document.querySelector(`[data-ack="${id}"]`);
  if (!form) return;
  form.hidden = !open;
  if (button) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.hidden = open;
  }
  if (open) form.note.focus();
  else form.note.value = "";
}

async function acknowledge(form) {
  const id = Number(form.dataset.ackForm);
  const error = form.querySelector(".alert-ack-error");
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  const note = form.note.value.trim();
  const answer = await requestJson(`/api/v1/alerts/${id}/acknowledge`, { method: "POST", body: note ? { note } : {} }).catch(
    () => null,
  );
  submit.disabled = false;
  if (answer && answer.ok && answer.body) {
    form.note.value = "";
    alerts.set(id, answer.body);
    form.hidden = true;
    render();
    toast("Alert acknowledged");
    return;
  }
  if (answer && answer.status === 409) {
    // Someone else acknowledged it, or it cleared: show what it is now.
    form.note.value = "";
    form.hidden = true;
    await load();
    toast(problemText(answer, "The alert changed"));
    return;
  }
  error.hidden = false;
  error.textContent = answer ? problemText(answer, "Could not acknowledge the alert") : "Could not reach the server. Please try again.";
}

function openBooking(id) {
  showTab("bookings", false);
  selectBooking(id);
}

function openDriver(id) {
  showTab("drivers", false);
  selectDriver(id);
}

export function startAlerts() {
  const root = list();
  if (!root) return;
  const toggle = document.getElementById("alerts-sound");
  if (toggle) startSound(toggle);
  root.addEventListener("click", (event) => {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.dataset.ack) openForm(Number(target.dataset.ack), true);
    else if (target.dataset.ackCancel) openForm(Number(target.dataset.ackCancel), false);
    else if (target.dataset.openBooking) openBooking(Number(target.dataset.openBooking));
    else if (target.dataset.openDriver) openDriver(Number(target.dataset.openDriver));
  });
  root.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-ack-form]");
    if (!form) return;
    event.preventDefault();
    acknowledge(form);
  });
  root.addEventListener("keydown", (event) => {
    const form = event.target.closest("form[data-ack-form]");
    if (form && event.key === "Escape") openForm(Number(form.dataset.ackForm), false);
  });
  onStaff("alert", changed);
  onStaff("open", (recovered) => {
    if (recovered) load();
  });
  window.setInterval(tickAges, 1000);
  load();
  window.hexfleetAlerts = { alerts }; // for tests
}
