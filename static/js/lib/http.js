/* Talking JSON to our own server from a page: the session cookie, the page's CSRF token on
 * every state change (webapp/csrf.py), and problem+json answers read like any other. */

/** The page's CSRF token (base.html's <meta name="csrf-token">). */
export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.getAttribute("content") : "";
}

/**
 * fetch JSON: resolves {ok, status, body, headers} for any answer (body: the parsed JSON, or
 * null), rejects only when the network fails or the request is aborted.
 */
export async function requestJson(url, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrfToken();
  const init = { method, credentials: "same-origin", headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (error) {
    parsed = null;
  }
  return { ok: response.ok, status: response.status, body: parsed, headers: response.headers };
}

/** A problem+json answer's detail as a sentence, else what went wrong in general. */
export function problemText(answer, fallback) {
  const detail = answer.body && answer.body.detail;
  if (detail) return detail.charAt(0).toUpperCase() + detail.slice(1) + (/[.!?]$/.test(detail) ? "" : ".");
  return fallback + " (the server answered " + answer.status + "). Please try again.";
}
