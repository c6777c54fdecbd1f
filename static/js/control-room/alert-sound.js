/* The alerts' sound: a short two-tone beep made with WebAudio (no file to fetch), and the
 * dispatcher's mute switch, remembered in this browser (localStorage). Browsers let a page make
 * sound only after the person has interacted with it: the audio is unlocked on the first click
 * or key press, and a beep before that is skipped silently. */

const KEY = "hexfleet.alerts.muted";

let context = null;

export function isMuted() {
  try {
    return window.localStorage.getItem(KEY) === "1";
  } catch (error) {
    return false; // storage refused (private mode): sound on, as by default
  }
}

export function setMuted(muted) {
  try {
    window.localStorage.setItem(KEY, muted ? "1" : "0");
  } catch (error) {
    /* not remembered, but still applied for this page */
  }
  document.documentElement.dataset.alertsMuted = muted ? "true" : "false";
}

function audio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!context) context = new Context();
  return context;
}

function unlock() {
  const ctx = audio();
  if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
}

/** Beep once (unless muted): louder and lower for a critical alert. Returns whether it sounded. */
export function beep(critical = false) {
  if (isMuted()) return false;
  const ctx = audio();
  if (!ctx || ctx.state !== "running") return false;
  const start = ctx.currentTime;
  const tones = critical ? [660, 440, 660] : [880, 660];
  tones.forEach((frequency, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = frequency;
    const at = start + i * 0.18;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(critical ? 0.3 : 0.18, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + 0.17);
  });
  window.hexfleetAlertBeeps = (window.hexfleetAlertBeeps || 0) + 1; // for tests
  return true;
}

export function startSound(toggle) {
  ["pointerdown", "keydown"].forEach((name) => document.addEventListener(name, unlock, { passive: true }));
  const show = () => {
    const muted = isMuted();
    toggle.setAttribute("aria-pressed", muted ? "true" : "false");
    toggle.textContent = muted ? "Sound off" : "Sound on";
    toggle.title = muted ? "New alerts are silent: click to hear them" : "New alerts beep: click to mute";
  };
  setMuted(isMuted());
  show();
  toggle.addEventListener("click", () => {
    setMuted(!isMuted());
    show();
    if (!isMuted()) beep(); // so the dispatcher hears what it sounds like
  });
}
