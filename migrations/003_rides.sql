-- Rides: fares, quotes, bookings, driver offers, the booking event log (also the outbox
-- the relay publishes to Kafka), and surge history.

CREATE TABLE fares (
    vehicle_class     text PRIMARY KEY CHECK (vehicle_class IN ('standard', 'comfort', 'xl', 'van')),
    currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    -- Integer minor units (cents); hexfleet/rides/fares.py has the rounding rule.
    base_minor        integer NOT NULL CHECK (base_minor BETWEEN 0 AND 10000000),
    per_km_minor      integer NOT NULL CHECK (per_km_minor BETWEEN 0 AND 10000000),
    per_minute_minor  integer NOT NULL CHECK (per_minute_minor BETWEEN 0 AND 10000000),
    booking_fee_minor integer NOT NULL CHECK (booking_fee_minor BETWEEN 0 AND 10000000),
    minimum_minor     integer NOT NULL CHECK (minimum_minor BETWEEN 0 AND 10000000),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        bigint REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE quotes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- A quote belongs to whoever asked (a customer, or a dispatcher booking for a caller).
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    vehicle_class   text NOT NULL REFERENCES fares (vehicle_class),
    pickup_lat      double precision NOT NULL CHECK (pickup_lat BETWEEN -90 AND 90),
    pickup_lng      double precision NOT NULL CHECK (pickup_lng BETWEEN -180 AND 180),
    dropoff_lat     double precision NOT NULL CHECK (dropoff_lat BETWEEN -90 AND 90),
    dropoff_lng     double precision NOT NULL CHECK (dropoff_lng BETWEEN -180 AND 180),
    pickup_cell     bigint NOT NULL,            -- H3 cell at SURGE_RESOLUTION: surge demand
    pickup_at       timestamptz,                -- asked for a later pickup
    distance_m      integer NOT NULL CHECK (distance_m >= 0),
    duration_s      integer NOT NULL CHECK (duration_s >= 0),
    route_source    text NOT NULL,
    eta_pickup_s    integer,
    surge_tenths    smallint NOT NULL CHECK (surge_tenths >= 10),
    price_minor     integer NOT NULL CHECK (price_minor >= 0),
    currency        text NOT NULL,
    breakdown       jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz
);
CREATE INDEX quotes_cell_recent ON quotes (pickup_cell, created_at);
CREATE INDEX quotes_created_brin ON quotes USING brin (created_at);

CREATE TABLE bookings (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    status          text NOT NULL CHECK (status IN ('scheduled', 'searching', 'offered', 'assigned', 'arrived',
                                                     'in_progress', 'completed', 'cancelled', 'no_driver')),
    quote_id        bigint NOT NULL UNIQUE REFERENCES quotes (id),   -- a quote books one ride
    customer_id     bigint REFERENCES users (id) ON DELETE SET NULL, -- NULL: a caller booked by staff
    created_by      bigint REFERENCES users (id) ON DELETE SET NULL,
    passenger_name  text NOT NULL CHECK (length(passenger_name) BETWEEN 1 AND 200),
    passenger_phone text NOT NULL CHECK (length(passenger_phone) BETWEEN 3 AND 32),
    notes           text CHECK (length(notes) <= 1000),
    vehicle_class   text NOT NULL,
    pickup_lat      double precision NOT NULL,
    pickup_lng      double precision NOT NULL,
    dropoff_lat     double precision NOT NULL,
    dropoff_lng     double precision NOT NULL,
    pickup_cell     bigint NOT NULL,
    distance_m      integer NOT NULL,
    duration_s      integer NOT NULL,
    price_minor     integer NOT NULL,
    currency        text NOT NULL,
    breakdown       jsonb NOT NULL,
    scheduled_for   timestamptz,
    dispatch_at     timestamptz,                 -- scheduled_for - DISPATCH_LEAD_S
    driver_id       bigint REFERENCES drivers (id) ON DELETE SET NULL,
    search_ring     smallint NOT NULL DEFAULT 0,
    tracking_nonce  text NOT NULL,
    cancelled_by    text,
    cancel_reason   text CHECK (length(cancel_reason) <= 500),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    assigned_at     timestamptz,
    arrived_at      timestamptz,
    started_at      timestamptz,
    ended_at        timestamptz                  -- completed or cancelled
);
-- The claim: a driver holds at most one ride at a time, whatever the concurrency.
CREATE UNIQUE INDEX bookings_one_ride_per_driver ON bookings (driver_id)
    WHERE status IN ('assigned', 'arrived', 'in_progress');
CREATE INDEX bookings_status_idx ON bookings (status, id);
CREATE INDEX bookings_customer_idx ON bookings (customer_id, id);
CREATE INDEX bookings_driver_idx ON bookings (driver_id, id);
CREATE INDEX bookings_scheduled_due ON bookings (dispatch_at) WHERE status = 'scheduled';
CREATE INDEX bookings_open_cell ON bookings (pickup_cell) WHERE status IN ('searching', 'offered', 'no_driver');

CREATE TABLE offers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id   bigint NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    driver_id    bigint NOT NULL REFERENCES drivers (id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
    ring         smallint NOT NULL,
    distance_m   integer NOT NULL,
    eta_s        integer,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    responded_at timestamptz
);
-- A driver is asked at most once per booking; one open offer per booking and per driver.
CREATE UNIQUE INDEX offers_once_per_driver ON offers (booking_id, driver_id);
CREATE UNIQUE INDEX offers_one_pending_per_booking ON offers (booking_id) WHERE status = 'pending';
CREATE UNIQUE INDEX offers_one_pending_per_driver ON offers (driver_id) WHERE status = 'pending';
CREATE INDEX offers_pending_expiry ON offers (expires_at) WHERE status = 'pending';

-- Every state change of a booking, with its time and actor. Rows with published_at NULL are
-- the outbox: the relay (python -m streaming) publishes them to Kafka in id order and marks them.
CREATE TABLE booking_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    booking_id   bigint NOT NULL REFERENCES bookings (id) ON DELETE CASCADE,
    action       text NOT NULL,
    from_status  text,
    to_status    text NOT NULL,
    actor        text NOT NULL CHECK (actor IN ('customer', 'driver', 'dispatcher', 'admin', 'system')),
    actor_id     bigint,
    driver_id    bigint,
    offer_id     bigint,
    reason       text,
    snapshot     jsonb NOT NULL,                 -- the booking as it is after this change
    at           timestamptz NOT NULL,
    published_at timestamptz
);
CREATE INDEX booking_events_booking_idx ON booking_events (booking_id, id);
CREATE INDEX booking_events_outbox ON booking_events (id) WHERE published_at IS NULL;

CREATE TABLE surge_history (
    cell        bigint NOT NULL,
    at          timestamptz NOT NULL,
    multiplier  numeric(3, 1) NOT NULL,
    demand      integer NOT NULL,
    supply      integer NOT NULL,
    PRIMARY KEY (cell, at)
);
CREATE INDEX surge_history_at_brin ON surge_history USING brin (at);
