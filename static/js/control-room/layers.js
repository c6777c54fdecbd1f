/* One box on the map for the layers a dispatcher can switch on (surge, short of drivers, ...):
 * each layer adds a section to it rather than a box of its own, so a new layer never pushes
 * the legend under the phone's bottom sheet. */

const L = window.L;

let box = null;

export function layerSection(map) {
  if (!box) {
    const control = L.control({ position: "topright" });
    control.onAdd = () => {
      box = L.DomUtil.create("div", "hf-layer-control");
      L.DomEvent.disableClickPropagation(box);
      return box;
    };
    control.addTo(map);
  }
  return L.DomUtil.create("div", "hf-layer", box);
}
