/* A signed-out page goes to the sign-in page, and comes back here afterwards. */

/** To /login, with this page (and its query, when asked) as where to come back to. */
export function goToLogin({ withQuery = false } = {}) {
  const here = window.location.pathname + (withQuery ? window.location.search : "");
  window.location.assign("/login?next=" + encodeURIComponent(here));
}

/** htmx partials whose session expired are redirected to the login page: leave the page for
 * it instead of swapping a whole sign-in form into a list. */
export function leaveWhenPartialsSignedOut(options) {
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const xhr = event.detail.xhr;
    if (xhr && xhr.responseURL && new URL(xhr.responseURL).pathname === "/login") {
      event.detail.shouldSwap = false;
      goToLogin(options);
    }
  });
}
