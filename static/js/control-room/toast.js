/* Short messages over the map ("Following Ada ...", "Copied the token."), gone after 6 s. */

let timer = null;

export function toast(message) {
  const el = document.getElementById("cr-toast");
  if (!el) return;
  el.textContent = message;
  if (timer) window.clearTimeout(timer);
  timer = window.setTimeout(() => {
    el.textContent = "";
  }, 6000);
}
