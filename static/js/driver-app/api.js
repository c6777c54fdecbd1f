/* The driver API over the session cookie (state changes carry the page's CSRF token). */

import { requestJson } from "../lib/http.js";

let signedOut = () => window.location.assign("/d");

/** What to do when the session ended (its time was up, or the device token was rotated). */
export function onSignedOut(handler) {
  signedOut = handler;
}

/** fetch JSON; resolves {ok, status, data, headers}, rejects only when the network fails. */
export function call(method, url, body) {
  return requestJson(url, { method: method, body: body }).then(function (answer) {
    if (answer.status === 401) {
      signedOut();
      return new Promise(function () {}); // the page is leaving: nothing more to do
    }
    return { ok: answer.ok, status: answer.status, data: answer.body || {}, headers: answer.headers };
  });
}

export function problemText(result) {
  if (result.status === 403 && result.data && /\/csrf$/.test(result.data.type || "")) {
    return "This page is out of date. Reload it and try again.";
  }
  var detail = result.data && result.data.detail;
  return detail ? capitalise(detail) + "." : "Something went wrong (" + result.status + "). Try again.";
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
