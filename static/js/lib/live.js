/* The top bar's live indicator (#live-indicator, or the driver app's #d-live): a dot and a word. */

const WORDS = {
  connecting: ["connecting", "connecting…"],
  connected: ["live", "live"],
  reconnecting: ["reconnecting", "reconnecting…"],
  down: ["offline", "offline · retrying"],
};

/** Show a state ("live", "offline", ...) with its label. */
export function setLive(indicator, state, label) {
  if (!indicator) return;
  indicator.dataset.state = state;
  const text = indicator.querySelector(".live-label");
  if (text) text.textContent = label;
}

/** Show a stream's status (lib/stream.js: connecting, connected, reconnecting, down). */
export function showStreamStatus(indicator, status) {
  const [state, label] = WORDS[status] || WORDS.down;
  setLive(indicator, state, label);
}
