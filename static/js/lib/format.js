/* Times, durations, distances and money, as the person looking at the page reads them.
 *
 * Times are shown in the viewer's time zone and locale (the browser's Intl): 24- or 12-hour as
 * the locale has it, never a hard-coded suffix or hour cycle; the UTC time goes in the title.
 * Durations and distances keep short unit symbols ("1 h 5 min", "3.2 km") with the numbers in
 * the locale's own digits and separators; money goes through Intl.NumberFormat with the
 * currency's symbol, counted in the ISO 4217 minor units the server stores (lib/currencies.js).
 *
 * formatWithin(root) does the same for what the server rendered (webapp/pages/readable.py):
 *   <time datetime="ISO" data-format="time|time-seconds|date|datetime|ago|elapsed">UTC text</time>
 *   <data class="money" value="815" data-currency="EUR">8.15 EUR</data>
 *   <data class="distance" value="1234">1.2 km</data>, <data class="duration" value="840">14 min</data>
 *   (an estimate in whole minutes: <data class="duration" data-round="minutes" value="45">1 min</data>)
 * The server's text stays when the browser cannot do better (an unknown zone or currency).
 */

import { minorDigits } from "./currencies.js";
import { serverNow } from "./server-clock.js";

const NBSP = "\u00a0"; // a number never wraps away from its unit

const DATE_STYLES = {
  time: { hour: "numeric", minute: "2-digit" },
  "time-seconds": { hour: "numeric", minute: "2-digit", second: "2-digit" },
  date: { year: "numeric", month: "short", day: "numeric" },
  datetime: { weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit" },
  "datetime-seconds": { weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit", second: "2-digit" },
  full: { year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit", second: "2-digit", timeZoneName: "short" },
};

const formats = new Map(); // Intl formatters are costly to make and cheap to reuse

function cached(kind, options, make) {
  const key = kind + JSON.stringify(options);
  let format = formats.get(key);
  if (!format) {
    format = make();
    formats.set(key, format);
  }
  return format;
}

let hourDigits = null;

/** "numeric" where the locale counts 12 hours ("6:08 PM", not "06:08 PM"), "2-digit" where it
 * counts 24 ("00:52", not "0:52"): the locale's hour cycle, as its own clock shows it. */
function hourStyle() {
  if (!hourDigits) {
    const cycle = new Intl.DateTimeFormat(undefined, { hour: "numeric" }).resolvedOptions().hourCycle;
    hourDigits = cycle === "h11" || cycle === "h12" ? "numeric" : "2-digit";
  }
  return hourDigits;
}

/** An Intl.DateTimeFormat for a style of DATE_STYLES; a zone the browser does not know falls back to its own. */
function dateFormat(style, timeZone) {
  const options = { ...DATE_STYLES[style], ...(timeZone ? { timeZone } : {}) };
  if (options.hour) options.hour = hourStyle();
  try {
    return cached("date", options, () => new Intl.DateTimeFormat(undefined, options));
  } catch (error) {
    if (!timeZone) throw error;
    return dateFormat(style);
  }
}

function numberFormat(options) {
  return cached("number", options, () => new Intl.NumberFormat(undefined, options));
}

/** A Date from a Date, epoch milliseconds or an ISO string; null when it names no instant. */
export function toDate(value) {
  if (value === null || value === undefined || value === "") return null;
  const at = value instanceof Date ? value : new Date(value);
  return isNaN(at.getTime()) ? null : at;
}

/** "6:08 PM" or "18:08" (the locale's hour cycle); seconds too when asked. */
export function time(value, { seconds = false, timeZone } = {}) {
  const at = toDate(value);
  return at ? dateFormat(seconds ? "time-seconds" : "time", timeZone).format(at) : "—";
}

/** "Dec 3, 2025" or "3. Dez. 2025". */
export function date(value, { timeZone } = {}) {
  const at = toDate(value);
  return at ? dateFormat("date", timeZone).format(at) : "—";
}

/** "Wed, Dec 3, 6:08 PM" or "Mi., 3. Dez., 18:08": for what may be on another day. */
export function dateTime(value, { seconds = false, timeZone } = {}) {
  const at = toDate(value);
  return at ? dateFormat(seconds ? "datetime-seconds" : "datetime", timeZone).format(at) : "—";
}

/** The same day in the given zone (or the viewer's)? */
export function sameDay(a, b, { timeZone } = {}) {
  const format = dateFormat("date", timeZone);
  return format.format(toDate(a)) === format.format(toDate(b));
}

/** "2025-12-03 18:08:11 UTC": the instant without any zone to get wrong. */
export function utcText(value) {
  const at = toDate(value);
  return at ? at.toISOString().slice(0, 19).replace("T", " ") + " UTC" : "";
}

/** What a time's title says: the full local date and time, then UTC. */
export function timeTitle(value, { timeZone } = {}) {
  const at = toDate(value);
  return at ? dateFormat("full", timeZone).format(at) + " · " + utcText(at) : "";
}

/** 1234 → "1,234" (en) or "1.234" (de); digits after the point as asked. */
export function number(value, digits = 0) {
  return numberFormat({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/** "45 s", "14 min", "1 h 5 min", "2 d 3 h"; precise keeps the seconds under an hour ("4 min 58 s"). */
export function duration(seconds, { precise = false } = {}) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return number(s) + NBSP + "s";
  if (precise && s < 3600) {
    const rest = s % 60;
    return number(Math.floor(s / 60)) + NBSP + "min" + (rest ? " " + number(rest) + NBSP + "s" : "");
  }
  const mins = Math.round(s / 60);
  if (mins < 60) return number(mins) + NBSP + "min";
  if (mins < 24 * 60) {
    const rest = mins % 60;
    return number(Math.floor(mins / 60)) + NBSP + "h" + (rest ? " " + number(rest) + NBSP + "min" : "");
  }
  const hours = Math.round(mins / 60);
  const rest = hours % 24;
  return number(Math.floor(hours / 24)) + NBSP + "d" + (rest ? " " + number(rest) + NBSP + "h" : "");
}

/** Whole minutes, never under one ("1 min", "14 min", "1 h 5 min"): for estimates (ETAs, trips). */
export function minutes(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
  return duration(Math.max(60, Math.round(seconds / 60) * 60));
}

/** "4:59": a countdown's minutes and seconds. */
export function countdown(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

/** "just now", "12 s ago", "4 min ago", "3 h ago", "2 d ago": how long since, in whole units. */
export function ago(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
  // A clock running ahead of ours (a phone, the server) never says "in 3 s".
  if (seconds < 1) return "just now";
  const s = Math.floor(seconds);
  if (s < 60) return number(s) + NBSP + "s ago";
  if (s < 3600) return number(Math.floor(s / 60)) + NBSP + "min ago";
  if (s < 86400) return number(Math.floor(s / 3600)) + NBSP + "h ago";
  return number(Math.floor(s / 86400)) + NBSP + "d ago";
}

/** "850 m", "3.2 km", "125 km" (the locale's decimal sign). */
export function distance(metres) {
  if (typeof metres !== "number" || !isFinite(metres)) return "—";
  const m = Math.max(0, metres);
  if (Math.round(m) < 1000) return number(Math.round(m)) + NBSP + "m";
  const km = m / 1000;
  return number(km, km < 99.95 ? 1 : 0) + NBSP + "km";
}

/** 815 EUR → "€8.15" (en-US) or "8,15 €" (de-DE); 1200 JPY → "¥1,200"; 1250 KWD → "KWD 1.250".
 * The amount is in the currency's ISO 4217 minor units (as the server stores it); a code we do
 * not know is scaled by the browser's own idea of its minor units. */
export function money(minor, currency) {
  if (typeof minor !== "number" || !isFinite(minor) || !currency) return "—";
  const iso = minorDigits(currency);
  const options = { style: "currency", currency };
  if (iso !== undefined) Object.assign(options, { minimumFractionDigits: iso, maximumFractionDigits: iso });
  try {
    const format = numberFormat(options);
    const digits = iso !== undefined ? iso : format.resolvedOptions().maximumFractionDigits;
    return format.format(minor / 10 ** digits);
  } catch (error) {
    return minor + " minor units of " + currency; // not a currency this browser knows
  }
}

/* ------------------------------------------------------------------ what the server rendered */

/** Show one server-rendered <time datetime>: in local time, or as an age at `now` (ms, server clock). */
export function formatTime(el, now = serverNow(), timeZone) {
  const at = toDate(el.getAttribute("datetime"));
  if (!at) return;
  const style = el.dataset.format || "datetime";
  let text;
  if (style === "ago") text = ago((now - at.getTime()) / 1000);
  else if (style === "elapsed") text = duration((now - at.getTime()) / 1000);
  else if (style === "time" || style === "time-seconds") text = time(at, { seconds: style === "time-seconds", timeZone });
  else if (style === "date") text = date(at, { timeZone });
  else text = dateTime(at, { timeZone });
  if (el.dataset.utcShown === "true") el.dataset.localText = text;
  else if (el.textContent !== text) el.textContent = text;
  const title = timeTitle(at, { timeZone });
  if (el.title !== title) el.title = title;
}

/** Show one server-rendered amount, distance or duration (a <data value> element). */
export function formatValue(el) {
  const value = Number(el.getAttribute("value"));
  if (el.getAttribute("value") === null || !isFinite(value)) return;
  let text = null;
  if (el.classList.contains("money")) text = el.dataset.currency ? money(value, el.dataset.currency) : null;
  else if (el.classList.contains("distance")) text = distance(value);
  else if (el.classList.contains("duration")) text = el.dataset.round === "minutes" ? minutes(value) : duration(value);
  if (text && text !== "—" && el.textContent !== text) el.textContent = text;
}

/** Every server-rendered time, amount, distance and duration inside root (the element itself too). */
export function formatWithin(root = document, now = serverNow()) {
  if (!root || !root.querySelectorAll) return;
  const times = "time[datetime]";
  const values = "data.money, data.distance, data.duration";
  if (root.matches && root.matches(times)) formatTime(root, now);
  if (root.matches && root.matches(values)) formatValue(root);
  root.querySelectorAll(times).forEach((el) => formatTime(el, now));
  root.querySelectorAll(values).forEach(formatValue);
}
