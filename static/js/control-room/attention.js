/* Which drivers need the dispatcher's attention: a stale position, or a fix the GPS checks
 * flagged in the last ten minutes (as ATTENTION_WINDOW in webapp/pages/control_room.py). */

const ATTENTION_WINDOW_MS = 10 * 60 * 1000;

export function isFlagged(driver) {
  return driver.problemAt !== null && driver.problemAt !== undefined && Date.now() - driver.problemAt <= ATTENTION_WINDOW_MS;
}

export function needsAttention(driver) {
  return !!driver.stale || isFlagged(driver);
}
