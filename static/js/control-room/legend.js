/* The marker legend: always open at the bottom right of a desktop's map; on a phone a button in
 * the top right corner, under Show names and Surge, opens and closes it (controls in one corner
 * stack, so the open legend never lies over the surge switch and its scale). */

const L = window.L;
const PHONE = window.matchMedia("(max-width: 760px)");

function corner() {
  return PHONE.matches ? "topright" : "bottomright";
}

export function addLegend(map) {
  const legend = L.control({ position: corner() });
  legend.onAdd = () => {
    const el = L.DomUtil.create("div", "hf-legend-box");
    el.innerHTML =
      '<button type="button" class="hf-legend-toggle" aria-expanded="false" aria-controls="hf-legend">Legend</button>' +
      '<div class="hf-legend" id="hf-legend" role="group" aria-label="Marker colours">' +
      '<span><i class="lg-available"></i>Available</span><span><i class="lg-busy"></i>Busy</span>' +
      '<span><i class="lg-off"></i>Off duty</span><span><i class="lg-stale"></i>Stale</span>' +
      '<span><i class="lg-attention"></i>Needs attention</span></div>';
    L.DomEvent.disableClickPropagation(el);
    const toggle = el.querySelector(".hf-legend-toggle");
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      el.classList.toggle("is-open", open);
    });
    return el;
  };
  legend.addTo(map);
  PHONE.addEventListener("change", () => legend.setPosition(corner()));
}
