/* The side form of the selected zone: name, kind, colour, active, and the rules of its kind
 * (only that kind's fieldset is shown). What is typed is kept per zone as a draft (strings, as
 * typed), so selecting another zone and coming back loses nothing; on save the draft becomes
 * the API's fields (money typed in the currency's units becomes minor units).
 *
 * Errors, from this form's own reading or from the server's 422, are shown twice: a summary
 * at the top of the form (role=alert, so a screen reader hears it) and each under its field. */

import { minorDigits } from "../lib/currencies.js";
import { KIND_LABELS } from "./list.js";

// The API fills these in when a zone comes without a colour (hexfleet/zones/rules.py); a new
// zone starts with its kind's colour, and follows the kind until a colour is picked.
export const DEFAULT_COLORS = { service_area: "#2e7d32", airport: "#1565c0", restricted: "#c62828", custom: "#6a1b9a" };

const FIELD_LABELS = {
  zone: "Zone",
  name: "Name",
  kind: "Kind",
  color: "Colour",
  active: "Active",
  geometry: "Shape",
  rules: "Rules",
  "rules.allow_dropoff_outside": "Drop-offs outside",
  "rules.pickup_fee_minor": "Pickup fee",
  "rules.dropoff_fee_minor": "Drop-off fee",
  "rules.fixed_fares": "Fixed fares",
  "rules.wait_minutes": "Wait before an alert",
};

let form = null;
let currencies = {};
let onInput = () => {};
let current = null; // the record shown
let others = []; // [{id, name}] saved zones a fixed fare may lead to or come from

const $ = (selector) => form.querySelector(selector);

function currencyOf(vehicleClass) {
  return currencies[vehicleClass] || currencies[""] || "EUR";
}

function digitsOf(currency) {
  const digits = minorDigits(currency);
  return digits === undefined ? 2 : digits;
}

export function fromMinor(minor, currency) {
  if (typeof minor !== "number" || !Number.isFinite(minor)) return "";
  const digits = digitsOf(currency);
  return (minor / 10 ** digits).toFixed(digits);
}

/** "2.50" EUR → 250; "" → 0; null and a reason for anything else. */
export function toMinor(text, currency) {
  const typed = String(text).trim().replace(/\s/g, "");
  if (!typed) return { minor: 0 };
  const digits = digitsOf(currency);
  const normal = typed.includes(".") ? typed.replace(/,/g, "") : typed.replace(",", ".");
  const match = /^(\d+)(?:\.(\d*))?$/.exec(normal);
  if (!match) return { minor: null, reason: "an amount such as " + (1.5).toFixed(digits) + " " + currency };
  const decimals = match[2] || "";
  if (decimals.length > digits) return { minor: null, reason: currency + " has " + digits + " decimals at most" };
  return { minor: Number(match[1]) * 10 ** digits + Number((decimals + "0".repeat(digits)).slice(0, digits) || 0) };
}

/** A zone's API fields as the form's draft (strings as they would be typed). */
export function draftOf(values) {
  const rules = values.rules || {};
  const feeCurrency = currencyOf("");
  return {
    name: values.name || "",
    kind: values.kind || "custom",
    color: values.color || DEFAULT_COLORS[values.kind] || DEFAULT_COLORS.custom,
    colorPicked: Boolean(values.color),
    active: values.active !== false,
    allow_dropoff_outside: rules.allow_dropoff_outside !== false,
    pickup_fee: rules.pickup_fee_minor ? fromMinor(rules.pickup_fee_minor, feeCurrency) : "",
    dropoff_fee: rules.dropoff_fee_minor ? fromMinor(rules.dropoff_fee_minor, feeCurrency) : "",
    wait_minutes: rules.wait_minutes == null ? "" : String(rules.wait_minutes),
    fares: (rules.fixed_fares || []).map((f) => ({
      direction: f.from_zone_id != null ? "from" : "to",
      zone: String(f.from_zone_id != null ? f.from_zone_id : f.to_zone_id),
      class: f.vehicle_class,
      amount: fromMinor(f.amount_minor, currencyOf(f.vehicle_class)),
      no_surge: f.no_surge !== false,
    })),
  };
}

/** The draft as the API's fields: {zone} or {errors} (keys as the server names its fields). */
export function zoneOf(draft) {
  const errors = {};
  const rules = {};
  if (draft.kind === "service_area") rules.allow_dropoff_outside = draft.allow_dropoff_outside;
  if (draft.kind === "airport") {
    for (const [field, key] of [["pickup_fee", "pickup_fee_minor"], ["dropoff_fee", "dropoff_fee_minor"]]) {
      const amount = toMinor(draft[field], currencyOf(""));
      if (amount.minor === null) errors["rules." + key] = amount.reason;
      else rules[key] = amount.minor;
    }
    rules.fixed_fares = draft.fares.map((fare, i) => {
      const amount = toMinor(fare.amount, currencyOf(fare.class));
      if (amount.minor === null) errors["rules.fixed_fares[" + i + "].amount_minor"] = amount.reason;
      if (!fare.zone) errors["rules.fixed_fares[" + i + "]"] = "choose the other zone";
      return {
        [fare.direction === "from" ? "from_zone_id" : "to_zone_id"]: Number(fare.zone),
        vehicle_class: fare.class,
        amount_minor: amount.minor,
        no_surge: fare.no_surge,
      };
    });
  }
  if (draft.kind === "restricted") {
    const typed = draft.wait_minutes.trim();
    if (!typed) rules.wait_minutes = null;
    else if (/^\d+$/.test(typed)) rules.wait_minutes = Number(typed);
    else errors["rules.wait_minutes"] = "whole minutes, such as 10, or blank for the default";
  }
  if (Object.keys(errors).length) return { errors };
  return { zone: { name: draft.name.trim(), kind: draft.kind, color: draft.color, active: draft.active, rules } };
}

/* ------------------------------------------------------------------ the form's fields */

function fareRow(fare) {
  const row = document.getElementById("fixed-fare-row").content.firstElementChild.cloneNode(true);
  const index = form.querySelectorAll(".fixed-fare").length;
  // Unique ids so each label names its control.
  for (const label of row.querySelectorAll("label[data-label]")) {
    const control = label.parentElement.querySelector("[data-fare]");
    control.id = "fare-" + index + "-" + label.dataset.label;
    label.htmlFor = control.id;
  }
  const zoneSelect = row.querySelector('[data-fare="zone"]');
  const choices = others.map((z) => [String(z.id), z.name]);
  if (fare.zone && !choices.some(([id]) => id === fare.zone)) choices.push([fare.zone, "zone " + fare.zone + " (not found)"]);
  zoneSelect.replaceChildren(
    new Option(choices.length ? "Choose a zone" : "No other zone yet", ""),
    ...choices.map(([id, name]) => new Option(name, id)),
  );
  row.querySelector('[data-fare="direction"]').value = fare.direction;
  zoneSelect.value = fare.zone;
  row.querySelector('[data-fare="class"]').value = fare.class;
  row.querySelector('[data-fare="amount"]').value = fare.amount;
  row.querySelector('[data-fare="no_surge"]').checked = fare.no_surge;
  row.querySelector("[data-currency]").textContent = "(" + currencyOf(fare.class) + ")";
  row.querySelector('[data-fare="class"]').addEventListener("change", (event) => {
    row.querySelector("[data-currency]").textContent = "(" + currencyOf(event.target.value) + ")";
  });
  row.querySelector('[data-fare="remove"]').addEventListener("click", () => {
    row.remove();
    changed();
  });
  return row;
}

function readFares() {
  return [...form.querySelectorAll(".fixed-fare")].map((row) => ({
    direction: row.querySelector('[data-fare="direction"]').value,
    zone: row.querySelector('[data-fare="zone"]').value,
    class: row.querySelector('[data-fare="class"]').value,
    amount: row.querySelector('[data-fare="amount"]').value,
    no_surge: row.querySelector('[data-fare="no_surge"]').checked,
  }));
}

function showKind(kind) {
  for (const set of form.querySelectorAll("[data-rules-for]")) set.hidden = set.dataset.rulesFor !== kind;
}

function read() {
  return {
    name: $("#zone-name").value,
    kind: $("#zone-kind").value,
    color: $("#zone-color").value,
    colorPicked: current ? current.draft.colorPicked : false,
    active: $("#zone-active").checked,
    allow_dropoff_outside: $("#zone-dropoff-outside").checked,
    pickup_fee: $("#zone-pickup-fee").value,
    dropoff_fee: $("#zone-dropoff-fee").value,
    wait_minutes: $("#zone-wait").value,
    fares: readFares(),
  };
}

function changed() {
  if (!current) return;
  current.draft = read();
  onInput(current);
}

/* ------------------------------------------------------------------ errors */

function fieldControl(key) {
  const holder = form.querySelector('[data-field="' + key + '"]');
  return holder ? holder.querySelector("input, select") : null;
}

export function clearErrors() {
  const summary = $("#zone-errors");
  summary.hidden = true;
  summary.replaceChildren();
  for (const p of form.querySelectorAll("[data-error-for], [data-fare='error']")) {
    p.hidden = true;
    p.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function labelOf(key) {
  if (FIELD_LABELS[key]) return FIELD_LABELS[key];
  const fare = /^rules\.fixed_fares\[(\d+)\]/.exec(key);
  if (fare) return "Fixed fare " + (Number(fare[1]) + 1);
  return key.replace(/^rules\./, "Rule ");
}

/** Show what is wrong: `message` at the top, each of `fields` under its field and in the list. */
export function showErrors(message, fields = {}) {
  clearErrors();
  const summary = $("#zone-errors");
  const entries = Object.entries(fields);
  const head = document.createElement("p");
  // The server's detail repeats its first field's problem: with the list below, a plain heading.
  head.textContent = entries.length ? "This zone was not saved:" : message;
  summary.append(head);
  if (entries.length) {
    const list = document.createElement("ul");
    for (const [key, text] of entries) {
      const li = document.createElement("li");
      li.textContent = labelOf(key) + ": " + text;
      list.append(li);
      const fare = /^rules\.fixed_fares\[(\d+)\]/.exec(key);
      const rows = form.querySelectorAll(".fixed-fare");
      const target = fare && rows[Number(fare[1])]
        ? rows[Number(fare[1])].querySelector('[data-fare="error"]')
        : form.querySelector('[data-error-for="' + CSS.escape(key) + '"]');
      if (target) {
        target.textContent = (target.textContent ? target.textContent + " " : "") + text.charAt(0).toUpperCase() + text.slice(1) + ".";
        target.hidden = false;
      }
      const control = fieldControl(key);
      if (control) control.setAttribute("aria-invalid", "true");
    }
    summary.append(list);
  }
  summary.hidden = false;
  summary.focus({ preventScroll: false });
}

/* ------------------------------------------------------------------ the form as a whole */

/** Show `record` (or nothing). `savedZones`: [{id, name}] for the fixed fares' other zone. */
export function showRecord(record, savedZones, describe) {
  current = record;
  const hint = document.getElementById("zone-hint");
  form.hidden = !record;
  hint.hidden = Boolean(record);
  if (!record) return;
  others = savedZones.filter((z) => z.id !== record.id);
  const d = record.draft;
  $("#zone-form-title").textContent = record.id == null ? "New zone" : "Edit " + (record.zone.name || "zone");
  $("#zone-name").value = d.name;
  $("#zone-kind").value = d.kind;
  $("#zone-color").value = d.color;
  $("#zone-active").checked = d.active;
  $("#zone-dropoff-outside").checked = d.allow_dropoff_outside;
  $("#zone-pickup-fee").value = d.pickup_fee;
  $("#zone-dropoff-fee").value = d.dropoff_fee;
  $("#zone-wait").value = d.wait_minutes;
  $("#fixed-fares").replaceChildren(...d.fares.map(fareRow));
  showKind(d.kind);
  $("#zone-delete").hidden = record.id == null;
  $("#zone-discard").textContent = record.id == null ? "Discard drawing" : "Discard changes";
  showShape(describe);
  clearErrors();
  if (record.problem) showErrors(record.problem.message, record.problem.fields);
}

export function showShape(text) {
  $("#zone-shape").textContent = text;
}

export function setBusy(busy) {
  for (const button of form.querySelectorAll(".zone-actions button")) button.disabled = busy;
}

export function kindLabel(kind) {
  return KIND_LABELS[kind] || kind;
}

/** Wire the form: `on` = {input(record), save(record), discard(record), remove(record)}. */
export function startForm(config, on) {
  form = document.getElementById("zone-form");
  currencies = config.currencies || {};
  onInput = on.input;
  for (const el of form.querySelectorAll("[data-rules-for='airport'] > .zone-row [data-currency]")) {
    el.textContent = "(" + currencyOf("") + ")";
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  $("#zone-kind").addEventListener("change", (event) => {
    showKind(event.target.value);
    if (current && !current.draft.colorPicked) {
      $("#zone-color").value = DEFAULT_COLORS[event.target.value] || DEFAULT_COLORS.custom;
      changed();
    }
  });
  $("#zone-color").addEventListener("input", () => {
    if (current) current.draft.colorPicked = true;
  });
  $("#add-fixed-fare").addEventListener("click", () => {
    const row = fareRow({ direction: "to", zone: "", class: "standard", amount: "", no_surge: true });
    $("#fixed-fares").append(row);
    changed();
    row.querySelector("select").focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (current) on.save(current);
  });
  $("#zone-discard").addEventListener("click", () => current && on.discard(current));
  $("#zone-delete").addEventListener("click", () => current && on.remove(current));
}
