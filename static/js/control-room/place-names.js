/* Places shown by name ("Alexanderplatz, 60 m": webapp/pages/template_filters.py place_point) keep
 * their coordinates in the title, for a mouse to hover; a click or tap shows them in place of
 * the name (to read out, or copy), and another the name again. */

function toggle(button) {
  const showing = button.getAttribute("aria-pressed") === "true";
  if (!showing) button.dataset.name = button.textContent;
  button.textContent = showing ? button.dataset.name || button.textContent : button.dataset.coords;
  button.setAttribute("aria-pressed", showing ? "false" : "true");
  button.classList.toggle("is-coords", !showing);
}

export function startPlaceNames() {
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("button.place-name[data-coords]");
    if (button) toggle(button);
  });
}
