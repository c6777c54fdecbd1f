/* How each kind of figure reads: counts, shares, seconds, hours, money, multipliers, in the
 * viewer's locale (lib/format.js), and whether more of it is better. */

import { minorDigits } from "../lib/currencies.js";
import { duration, money, number } from "../lib/format.js";

export function show(value, unit, currency) {
  if (value === null || value === undefined) return "—";
  switch (unit) {
    case "share":
      return number(value * 100, value < 0.1 ? 1 : 0) + "\u00a0%";
    case "s":
      return duration(value, { precise: true });
    case "h":
      return number(value, value < 10 ? 1 : 0) + "\u00a0h";
    case "minor":
      return currency ? money(value, currency) : number(value);
    case "×":
      return "×" + number(value, 2);
    case "km":
      return number(value, value < 100 ? 1 : 0) + "\u00a0km";
    default:
      return number(value, Number.isInteger(value) ? 0 : 1);
  }
}

/** A short axis label (no units after the number: the caption says them). */
export function tick(value, unit, currency) {
  if (value === null || value === undefined) return "";
  if (unit === "share") return number(value * 100) + "%";
  if (unit === "s") return value >= 120 ? number(value / 60, value >= 600 ? 0 : 1) + "m" : number(value) + "s";
  if (unit === "minor") return number(value / 10 ** (minorDigits(currency) ?? 2));
  return number(value, Math.abs(value) < 10 && !Number.isInteger(value) ? 1 : 0);
}
