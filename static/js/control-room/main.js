/* hexfleet control room (/): the live map of drivers, the driver list and card, and bookings.
 *
 * Each job is a module of its own; this one starts them in order:
 *   map.js, legend.js         the map, its tiles (or places by name without them) and legend
 *   markers.js, glide.js      a marker per driver, gliding from fix to fix (fleet.js: their records)
 *   filter.js, match.js       the filter, for the list (the server's) and the markers (match.js)
 *   detail.js, follow.js      the selected driver's card and trail; following them on the map
 *   positions.js, outage.js   the snapshot and the position stream; an outage made unmistakable
 *   clock.js, list.js         ages by the server's clock; the list's and the card's htmx refreshes
 *   copy.js, sheet.js         copy buttons; the phone's bottom sheet
 *   tabs.js, bookings.js, booking-map.js, phone-booking.js, surge.js   the Bookings tab and surge
 *   alerts.js, alert-sound.js  the Alerts tab: the desk's alerts, its badge and its beep
 *   staff-stream.js           the staff stream (booking and alert events), started once the tabs listen
 *   place-names.js            places shown by name: a tap shows their coordinates
 *   zones.js                  the Zones layer: service areas, airports, restricted zones by colour
 *
 * For tests: window.hexfleetMap = {map, markers: Map(driverId -> L.Marker), visible(id)}.
 */

import { showStreamStatus } from "../lib/live.js";
import { startAlerts } from "./alerts.js";
import { startBookingMap } from "./booking-map.js";
import { startBookings } from "./bookings.js";
import { startClock } from "./clock.js";
import { startCopyButtons } from "./copy.js";
import { selectDriver, startDetail } from "./detail.js";
import { startFilter, markCountCards } from "./filter.js";
import { drivers, markers } from "./fleet.js";
import { startFollow } from "./follow.js";
import { addLegend } from "./legend.js";
import { startList } from "./list.js";
import { createMap, readConfig } from "./map.js";
import { startMarkers } from "./markers.js";
import { startPhoneBooking } from "./phone-booking.js";
import { startPlaceNames } from "./place-names.js";
import { followPositions, loadSnapshot } from "./positions.js";
import { startSheet } from "./sheet.js";
import { startShortage } from "./shortage.js";
import { startSurge } from "./surge.js";
import { startStaffStream } from "./staff-stream.js";
import { startTabs } from "./tabs.js";
import { startZones } from "./zones.js";

const mapEl = document.getElementById("map");
if (mapEl && window.L) start();

function start() {
  const config = readConfig(mapEl);
  const map = createMap(mapEl, config);
  startMarkers(map, { select: selectDriver, staleAfter: config.staleAfterMs });
  window.hexfleetMap = {
    map,
    markers,
    visible: (id) => {
      const driver = drivers.get(id);
      return !!(driver && driver.visible);
    },
  };
  startFilter();
  startFollow(map);
  startClock();
  startDetail(map);
  startCopyButtons();
  startList();
  startSheet(map);

  startBookingMap(map);
  startTabs();
  startBookings();
  startAlerts();
  startStaffStream();
  startPhoneBooking(map);
  startSurge(map);
  startShortage(map);
  startZones(map);
  addLegend(map); // last: on a phone it sits under Show names and Surge in the same corner
  startPlaceNames();

  showStreamStatus(document.getElementById("live-indicator"), "connecting");
  markCountCards();
  loadSnapshot().then(() => {
    // A shared link may name a driver (?driver=12): open it.
    const wanted = Number(new URLSearchParams(window.location.search).get("driver"));
    if (wanted && Number.isInteger(wanted)) selectDriver(wanted);
    followPositions();
  });
}
