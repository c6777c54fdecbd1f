/* The panel's tabs (Drivers, Bookings, Alerts), by click or arrow keys; the open tab is in the URL (?tab=). */

import { clearBookingLayers, drawSelectedBooking } from "./booking-map.js";

function tabs() {
  return Array.from(document.querySelectorAll(".panel-tab"));
}

export function showTab(name, focus) {
  tabs().forEach((tab) => {
    const on = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) tab.focus();
  });
  if (window.history && window.history.replaceState) {
    const url = new URL(window.location.href);
    if (name === "drivers") url.searchParams.delete("tab");
    else url.searchParams.set("tab", name);
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
  }
  if (name !== "bookings") clearBookingLayers();
  else drawSelectedBooking();
}

export function startTabs() {
  const all = tabs();
  all.forEach((tab, index) => {
    tab.addEventListener("click", () => showTab(tab.dataset.tab, false));
    tab.addEventListener("keydown", (event) => {
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      event.preventDefault();
      showTab(all[(index + step + all.length) % all.length].dataset.tab, true);
    });
  });
  const wanted = new URL(window.location.href).searchParams.get("tab");
  if (wanted && wanted !== "drivers" && all.some((tab) => tab.dataset.tab === wanted)) showTab(wanted, false);
}
