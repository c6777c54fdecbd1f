/* The range asked for: presets (today, yesterday, 7 days, 30 days) and custom days, worked out
 * in the browser's time zone, which is sent along (tz=) so day buckets and file names follow it. */

export function viewerZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch (error) {
    return "UTC";
  }
}

function midnight(date, plusDays = 0) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate() + plusDays);
}

/** {from, to, bucket} for a preset at `now` (local midnights: the browser's zone). */
export function presetRange(preset, now = new Date()) {
  const today = midnight(now);
  switch (preset) {
    case "today":
      return withBucket(today, now);
    case "yesterday":
      return withBucket(midnight(now, -1), today);
    case "30d":
      return withBucket(midnight(now, -29), now);
    case "7d":
    default:
      return withBucket(midnight(now, -6), now);
  }
}

/** Days picked in the form (yyyy-mm-dd, both included); null when they are not a range. */
export function customRange(fromText, toText) {
  const parse = (text) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || "");
    return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : null;
  };
  const first = parse(fromText);
  const last = parse(toText);
  if (!first || !last || last < first) return null;
  return withBucket(first, midnight(last, 1));
}

function withBucket(from, to) {
  // Up to two days in hours, longer by day: a readable number of points either way.
  const bucket = to - from <= 2 * 86400 * 1000 ? "hour" : "day";
  return { from, to, bucket };
}

/** yyyy-mm-dd of a local date, as <input type="date"> takes it. */
export function dayText(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate());
}
