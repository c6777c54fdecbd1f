/* The marker legend: always open on a desktop; on a phone a button opens and closes it. */

const L = window.L;

export function addLegend(map) {
  const legend = L.control({ position: "bottomright" });
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
}
