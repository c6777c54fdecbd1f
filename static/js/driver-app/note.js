/* A note over the page: what happened to an offer or a ride, or why a tap did nothing. */

import { el } from "./state.js";

var noteTimer = null;

export function note(text, kind, keepMs) {
  window.clearTimeout(noteTimer);
  el.noteText.textContent = text;
  el.note.dataset.kind = kind || "info";
  el.note.hidden = false;
  if (keepMs) {
    noteTimer = window.setTimeout(function () {
      el.note.hidden = true;
    }, keepMs);
  }
}

/** Hide the note (the driver acted; what it said is past). */
export function hideNote() {
  el.note.hidden = true;
}

export function startNotes() {
  el.noteClose.addEventListener("click", hideNote);
}
