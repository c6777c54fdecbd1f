/* The booking form's service-area check (/ride): when the operator serves only some areas, a
 * pickup outside them is said on the map at once, before a price is asked for (the quote would
 * be refused with outside-service-area anyway). */
import { requestJson } from "./lib/http.js";

export const OUTSIDE_TEXT = "This pickup is outside the service area: rides cannot start here. Move the pickup into the area.";

/** A checker that remembers the last answer; `check(lat, lng)` resolves to true (served),
 * false (outside) or null (could not ask: the quote decides). `notice`: the map's message. */
export function serviceArea(notice) {
  let seq = 0;
  return {
    outside: false,
    async check(lat, lng) {
      const mine = ++seq;
      let served = null;
      try {
        const answer = await requestJson(`/api/v1/zones/service-area?lat=${lat}&lng=${lng}`);
        if (answer.status === 200 && answer.body) served = answer.body.served;
      } catch (error) {
        served = null; // no connection: the quote says what is wrong
      }
      if (mine !== seq) return null; // a newer pickup was set meanwhile
      this.outside = served === false;
      notice.hidden = !this.outside;
      notice.textContent = this.outside ? OUTSIDE_TEXT : "";
      return served;
    },
    clear() {
      seq++;
      this.outside = false;
      notice.hidden = true;
    },
  };
}
