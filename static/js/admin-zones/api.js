/* The zones API as the editor uses it (/api/v1/zones): every call resolves an outcome, never
 * throws, so the page has one way to show what went wrong:
 *   {ok: true, status, body}
 *   {ok: false, status, message, fields}   fields: {"name": "...", "rules.wait_minutes": "..."}
 * A 422 names each bad field (problem+json `errors`); the message is the problem's detail. */

import { problemText, requestJson } from "../lib/http.js";

const BASE = "/api/v1/zones";
const UNREACHABLE = "The server could not be reached. Check the connection, then try again.";

/** problem+json `errors` as {field: message}: an object already (a zone's fields), or an
 * import's list of problems. */
export function fieldErrors(body) {
  const errors = body && body.errors;
  if (!errors) return {};
  if (Array.isArray(errors)) {
    const out = {};
    // An import's problems: {feature (from 1; none: the file), field, error}.
    for (const e of errors) {
      if (!e || typeof e !== "object") continue;
      const where = (e.feature ? "Feature " + e.feature : "The file") + (e.field ? " (" + e.field + ")" : "");
      out[where] = String(e.error || e.message || "");
    }
    return out;
  }
  return typeof errors === "object" ? Object.fromEntries(Object.entries(errors).map(([k, v]) => [k, String(v)])) : {};
}

async function call(url, options, fallback) {
  let answer;
  try {
    answer = await requestJson(url, options);
  } catch (error) {
    return { ok: false, status: 0, message: UNREACHABLE, fields: {} };
  }
  if (answer.ok) return { ok: true, status: answer.status, body: answer.body };
  if (answer.status === 409 && answer.body && answer.body.detail) {
    // Names are unique (whatever the case): the name is what to change.
    return { ok: false, status: 409, message: problemText(answer, fallback), fields: { name: answer.body.detail } };
  }
  if (answer.status === 401) return { ok: false, status: 401, message: "Your session has ended: sign in again (your drawing is lost on reload).", fields: {} };
  return { ok: false, status: answer.status, message: problemText(answer, fallback), fields: fieldErrors(answer.body) };
}

/** Every zone, inactive ones too. */
export async function listZones() {
  const outcome = await call(BASE, {}, "The zones could not be loaded");
  if (outcome.ok) {
    const body = outcome.body;
    outcome.zones = Array.isArray(body) ? body : (body && (body.zones || body.items)) || [];
  }
  return outcome;
}

export function getZone(id) {
  return call(BASE + "/" + encodeURIComponent(id), {}, "The zone could not be loaded");
}

export function createZone(zone) {
  return call(BASE, { method: "POST", body: zone }, "The zone could not be saved");
}

export function updateZone(id, zone) {
  return call(BASE + "/" + encodeURIComponent(id), { method: "PUT", body: zone }, "The zone could not be saved");
}

export function deleteZone(id) {
  return call(BASE + "/" + encodeURIComponent(id), { method: "DELETE" }, "The zone could not be deleted");
}

/** A FeatureCollection (already parsed) for POST /api/v1/zones/import. */
export function importZones(collection) {
  return call(BASE + "/import", { method: "POST", body: collection }, "The file could not be imported");
}
