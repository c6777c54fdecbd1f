/* Telling the driver an offer came: vibration and a chime. */

import { alerts } from "./state.js";

var audio = null;

/* Browsers let a page make sound only after the user touched it: start the audio then. */
function unlockAudio() {
  var Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  try {
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume().catch(function () {});
  } catch (e) {
    audio = null;
  }
}

export function startAlerts() {
  ["pointerdown", "keydown", "touchend"].forEach(function (name) {
    document.addEventListener(name, unlockAudio, { capture: true, passive: true });
  });
}

function chime() {
  if (!audio || audio.state !== "running") return false;
  var start = audio.currentTime + 0.02;
  [880, 1175].forEach(function (frequency, i) {
    var at = start + i * 0.2;
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.35, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
    osc.connect(gain);
    gain.connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.2);
  });
  return true;
}

function vibrate() {
  // Without a tap first, browsers refuse (and complain in the console): do not ask then.
  var activated = !navigator.userActivation || navigator.userActivation.hasBeenActive;
  if (!navigator.vibrate || !activated) return false;
  try {
    return navigator.vibrate([250, 120, 250]);
  } catch (e) {
    return false;
  }
}

/** A new offer: vibrate and chime where the browser lets us (window.hexfleetDriver.alerts). */
export function announceOffer(offer) {
  alerts.push({ offer: offer.id, vibrated: vibrate(), sounded: chime() });
}
