-- Issue 16 (booking what can be served; drivers start off duty).
--
-- A new driver starts off duty until they choose otherwise: the driver goes available on
-- their phone (or a dispatcher does it for them). Drivers already in the fleet keep the
-- status they have.
ALTER TABLE drivers ALTER COLUMN status SET DEFAULT 'off_duty';

-- When the booking's current search for a driver started: booked for now, dispatch of a
-- scheduled ride started, dispatch restarted by a dispatcher, or the ride given back by its
-- driver. With nobody in reach, dispatch keeps looking until DISPATCH_PATIENCE_S after it
-- before the booking becomes no_driver (hexfleet/rides/patience.py).
ALTER TABLE bookings ADD COLUMN search_started_at timestamptz;

-- Searches under way when this runs started at their last change at the latest.
UPDATE bookings SET search_started_at = updated_at WHERE status IN ('searching', 'offered');
