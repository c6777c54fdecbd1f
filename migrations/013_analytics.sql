-- Operations analytics (issue 17): the facts nothing recorded yet, and the hourly rollups.
--
-- Duty history: one row per change of a driver's working state, written by the tracker from the
-- status events and fixes it already reads (hexfleet/analytics/duty.py has the rules). A row lasts
-- until the next row of its driver (ended_at is that row's started_at; NULL while it lasts), so a
-- driver's rows tile time without gaps or overlaps. `status` is what the time counts as:
-- the duty the driver chose (`duty`), or `stale` while no fix came for STALE_AFTER_S (an
-- off-duty driver stays off_duty either way). `cell` is the H3 resolution-7 cell of the driver's
-- last accepted fix; a driver moving into another cell starts a new row (source `moved`), so
-- supply per cell and hour counts where drivers were, not only where they went online.
CREATE TABLE duty_history (
    driver_id     bigint NOT NULL REFERENCES drivers (id) ON DELETE CASCADE,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    status        text NOT NULL CHECK (status IN ('available', 'busy', 'off_duty', 'stale')),
    duty          text NOT NULL CHECK (duty IN ('available', 'busy', 'off_duty')),
    online        boolean NOT NULL,            -- a fix came within STALE_AFTER_S (server time)
    cell          bigint,                      -- NULL: no fix known yet
    vehicle_class text NOT NULL,               -- the driver's class when the row was written
    source        text NOT NULL CHECK (source IN ('duty', 'stale', 'back', 'moved')),
    -- Redelivered Kafka records recompute the same row at the same instant: a no-op.
    PRIMARY KEY (driver_id, started_at)
);
-- Each driver's current row (the tracker's sweep reads them all every few seconds).
CREATE INDEX duty_history_open ON duty_history (driver_id) WHERE ended_at IS NULL;
-- The rollup of one hour reads the working rows that overlap it.
CREATE INDEX duty_history_working ON duty_history USING gist (tstzrange(started_at, ended_at))
    WHERE status IN ('available', 'busy');

-- What a booking lacked for the KPIs: its pickup cell at resolutions 7 (rollups) and 8 (learned
-- speeds), set when it is created (older bookings get theirs from their coordinates when rolled
-- up), and the pickup ETA promised when a driver was assigned (the offer's, or the estimate from
-- the driver's position for a dispatcher's pick), against which the arrival is measured.
ALTER TABLE bookings
    ADD COLUMN pickup_cell7 bigint,
    ADD COLUMN pickup_cell8 bigint,
    ADD COLUMN eta_pickup_s integer;

-- A booking's life for the rollups: from when it reached dispatch (created, or its dispatch
-- time when booked ahead) until it ended, open while it lasts. greatest() because clocks of two
-- processes may disagree by a little, and a reversed range would fail the booking's update.
CREATE FUNCTION hf_booking_span(created timestamptz, dispatch timestamptz, ended timestamptz)
    RETURNS tstzrange LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN tstzrange(coalesce(dispatch, created),
                     CASE WHEN ended IS NULL THEN NULL ELSE greatest(coalesce(dispatch, created), ended) END, '[]');
CREATE INDEX bookings_span ON bookings USING gist (hf_booking_span(created_at, dispatch_at, ended_at));
CREATE INDEX offers_created_idx ON offers (created_at);
-- The rollup cron finds late changes by the time of booking events (append-only, in time order).
CREATE INDEX booking_events_at_brin ON booking_events USING brin (at);

-- The rollups: one row per period (an hour, or a UTC day made of its hours) × H3 resolution-7
-- cell × vehicle class; cell 0 (no H3 cell has that number) holds the whole fleet, facts
-- without a cell included. Every figure is a sum, so any range merges exactly; the three
-- percentile figures are sparse histograms (bucket numbers *_b, counts *_n; the buckets are
-- in hexfleet/analytics/histogram.py). Times are integer milliseconds so sums never drift.
CREATE TABLE analytics_cells (
    grain                   text NOT NULL CHECK (grain IN ('hour', 'day')),
    period_start            timestamptz NOT NULL,
    cell                    bigint NOT NULL,
    vehicle_class           text NOT NULL,
    searches                bigint NOT NULL DEFAULT 0,
    searches_booked         bigint NOT NULL DEFAULT 0,
    surge_quotes            bigint NOT NULL DEFAULT 0,
    surge_tenths            bigint NOT NULL DEFAULT 0,
    requests                bigint NOT NULL DEFAULT 0,
    requests_scheduled      bigint NOT NULL DEFAULT 0,
    assigned                bigint NOT NULL DEFAULT 0,
    completed               bigint NOT NULL DEFAULT 0,
    no_driver               bigint NOT NULL DEFAULT 0,
    cancelled_rider         bigint NOT NULL DEFAULT 0,
    cancelled_driver        bigint NOT NULL DEFAULT 0,
    cancelled_dispatcher    bigint NOT NULL DEFAULT 0,
    cancelled_system        bigint NOT NULL DEFAULT 0,
    cancelled_before_assign bigint NOT NULL DEFAULT 0,
    cancelled_after_assign  bigint NOT NULL DEFAULT 0,
    offers_sent             bigint NOT NULL DEFAULT 0,
    offers_accepted         bigint NOT NULL DEFAULT 0,
    offers_declined         bigint NOT NULL DEFAULT 0,
    offers_expired          bigint NOT NULL DEFAULT 0,
    offers_withdrawn        bigint NOT NULL DEFAULT 0,
    eta_n                   bigint NOT NULL DEFAULT 0,
    eta_abs_ms              bigint NOT NULL DEFAULT 0,
    eta_sum_ms              bigint NOT NULL DEFAULT 0,
    eta_band_n              bigint NOT NULL DEFAULT 0,
    eta_band_ok             bigint NOT NULL DEFAULT 0,
    distance_m              bigint NOT NULL DEFAULT 0,
    online_ms               bigint NOT NULL DEFAULT 0,
    available_ms            bigint NOT NULL DEFAULT 0,
    busy_ms                 bigint NOT NULL DEFAULT 0,
    en_route_ms             bigint NOT NULL DEFAULT 0,
    on_trip_ms              bigint NOT NULL DEFAULT 0,
    assign_b                smallint[] NOT NULL DEFAULT '{}',
    assign_n                bigint[] NOT NULL DEFAULT '{}',
    wait_b                  smallint[] NOT NULL DEFAULT '{}',
    wait_n                  bigint[] NOT NULL DEFAULT '{}',
    response_b              smallint[] NOT NULL DEFAULT '{}',
    response_n              bigint[] NOT NULL DEFAULT '{}',
    revenue                 jsonb NOT NULL DEFAULT '{}',   -- currency → integer minor units
    PRIMARY KEY (grain, period_start, cell, vehicle_class)
);
-- Per-cell reads of a range (the map, a bounding box) go by cell first.
CREATE INDEX analytics_cells_by_cell ON analytics_cells (grain, cell, period_start);

-- The same per driver (what each driver did in the period, whatever the cell).
CREATE TABLE analytics_drivers (
    grain           text NOT NULL CHECK (grain IN ('hour', 'day')),
    period_start    timestamptz NOT NULL,
    driver_id       bigint NOT NULL,             -- no foreign key: rollups outlive a deleted driver
    online_ms       bigint NOT NULL DEFAULT 0,
    available_ms    bigint NOT NULL DEFAULT 0,
    busy_ms         bigint NOT NULL DEFAULT 0,
    en_route_ms     bigint NOT NULL DEFAULT 0,
    on_trip_ms      bigint NOT NULL DEFAULT 0,
    offers_sent     bigint NOT NULL DEFAULT 0,
    offers_accepted bigint NOT NULL DEFAULT 0,
    offers_declined bigint NOT NULL DEFAULT 0,
    offers_expired  bigint NOT NULL DEFAULT 0,
    trips           bigint NOT NULL DEFAULT 0,
    releases        bigint NOT NULL DEFAULT 0,
    distance_m      bigint NOT NULL DEFAULT 0,
    revenue         jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (grain, period_start, driver_id)
);

-- Which hours have been rolled up and when, and which a late fact has touched since.
CREATE TABLE analytics_hours (
    hour        timestamptz PRIMARY KEY,
    computed_at timestamptz,                  -- the "now" of its last rollup
    dirty_at    timestamptz                   -- a late fact touched it after that; NULL: up to date
);
CREATE INDEX analytics_hours_dirty ON analytics_hours (hour) WHERE dirty_at IS NOT NULL;

-- The cron's bookmarks: the open hour it last rolled up, how far it has read booking events.
CREATE TABLE analytics_state (
    name  text PRIMARY KEY,
    value timestamptz NOT NULL
);
