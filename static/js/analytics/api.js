/* The analytics API's URLs for the range shown, and reading its answers. */

import { problemText, requestJson } from "../lib/http.js";

const BASE = "/api/v1/analytics/";

/** /api/v1/analytics/<what>?from=…&to=…&tz=…(&more); `what` may end in .csv. */
export function url(what, state, extra = {}) {
  const query = new URLSearchParams({ from: state.from.toISOString(), to: state.to.toISOString(), tz: state.tz });
  if (state.vehicleClass) query.set("vehicle_class", state.vehicleClass);
  for (const [key, value] of Object.entries(extra)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  return BASE + what + "?" + query.toString();
}

/** The answer's JSON; throws an Error whose message is fit to show. */
export async function load(what, state, extra, signal) {
  const answer = await requestJson(url(what, state, extra), { signal });
  if (!answer.ok || !answer.body) throw new Error(problemText(answer, "The figures could not be loaded"));
  return answer.body;
}
