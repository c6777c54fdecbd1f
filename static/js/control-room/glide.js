/* Markers glide from fix to fix instead of jumping.
 *
 * Linear: one glide hands over to the next at the same speed, so motion looks continuous. A
 * hidden tab gets no animation frames: every glide lands at once when it comes back.
 */

const animating = new Set(); // driver records with a glide under way
let frameRequested = false;

/** Glide a driver's marker to `target` over `duration` ms (0: jump). */
export function glideTo(driver, target, duration) {
  driver.anim = { from: driver.marker.getLatLng(), to: target, start: performance.now(), duration };
  animating.add(driver);
  requestFrame();
}

/** Where the driver is going (the end of the glide under way), else where the marker is. */
export function destination(driver) {
  return driver.anim ? driver.anim.to : driver.marker.getLatLng();
}

/** End one driver's glide where it was going. */
export function land(driver) {
  if (!driver.anim) return;
  driver.marker.setLatLng(driver.anim.to);
  driver.anim = null;
  animating.delete(driver);
}

/** End every glide where it was going. */
export function landAll() {
  animating.forEach((driver) => {
    driver.marker.setLatLng(driver.anim.to);
    driver.anim = null;
  });
  animating.clear();
}

function requestFrame() {
  if (frameRequested) return;
  frameRequested = true;
  window.requestAnimationFrame(step);
}

function step(now) {
  frameRequested = false;
  animating.forEach((driver) => {
    const a = driver.anim;
    const t = a.duration > 0 ? Math.min(1, Math.max(0, (now - a.start) / a.duration)) : 1;
    driver.marker.setLatLng([a.from.lat + (a.to.lat - a.from.lat) * t, a.from.lng + (a.to.lng - a.from.lng) * t]);
    if (t >= 1) {
      driver.anim = null;
      animating.delete(driver);
    }
  });
  if (animating.size) requestFrame();
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) landAll();
});
