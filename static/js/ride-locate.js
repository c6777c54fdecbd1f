/* "My location" on the booking form (/ride): the browser's position as the pickup, and what to
 * do instead when it cannot be had, in words. */

const FAILURES = {
  1: "Location access was denied. Allow it in your browser's site settings, or tap the map or type the pickup.",
  2: "Your location is not available right now. Tap the map or type the pickup instead.",
  3: "Finding your location took too long. Try again, or tap the map or type the pickup.",
};

/** Wire `button`: found(lat, lng, accuracyMetres) once the position is known; say(text, kind)
 * tells the rider what happens ("" clears). */
export function wireLocate(button, { found, say }) {
  button.addEventListener("click", () => {
    if (!("geolocation" in navigator)) {
      say("This browser cannot share your location. Tap the map or type the pickup instead.");
      return;
    }
    if (window.isSecureContext === false) {
      say("Your browser shares your location only with secure (https) pages. Tap the map or type the pickup.");
      return;
    }
    button.disabled = true;
    say("Finding your location…", "info");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        button.disabled = false;
        found(position.coords.latitude, position.coords.longitude, Math.round(position.coords.accuracy || 0));
      },
      (error) => {
        button.disabled = false;
        say(FAILURES[error.code] || "Your location is not available. Tap the map or type the pickup instead.");
      },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });
}
