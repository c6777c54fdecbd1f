-- A booking that ends with no driver found now gets an end time like a completed or
-- cancelled one, so its tracking link expires TRACKING_LINK_TTL_S later (before, it had
-- none and its link worked forever). Bookings already waiting in no_driver get the time
-- of their last change, which was the search giving up; dispatch restarted on one clears
-- it again.
UPDATE bookings SET ended_at = updated_at WHERE status = 'no_driver' AND ended_at IS NULL;
