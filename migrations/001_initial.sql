-- Data model v1: users, drivers, vehicles, devices, position history.

CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'dispatcher', 'customer')),
    created_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails compare case-insensitively: Ann@x.org and ann@x.org are one account.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE api_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,   -- sha256 of the token; the token itself is shown once
    label       text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

CREATE TABLE vehicles (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    plate      text NOT NULL,
    class      text NOT NULL DEFAULT 'standard' CHECK (class IN ('standard', 'comfort', 'xl', 'van')),
    capacity   integer NOT NULL DEFAULT 4 CHECK (capacity BETWEEN 1 AND 60),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX vehicles_plate_key ON vehicles (upper(plate));

CREATE TABLE drivers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    phone      text,
    -- Duty status chosen by the driver or a dispatcher; online/stale comes from the last fix.
    status     text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'off_duty', 'busy')),
    vehicle_id bigint REFERENCES vehicles (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- One vehicle is driven by at most one driver.
CREATE UNIQUE INDEX drivers_vehicle_key ON drivers (vehicle_id) WHERE vehicle_id IS NOT NULL;

CREATE TABLE devices (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    driver_id   bigint NOT NULL REFERENCES drivers (id) ON DELETE CASCADE,
    device_id   text NOT NULL UNIQUE,    -- random, unguessable: OsmAnd apps identify by it alone
    token_hash  bytea NOT NULL UNIQUE,   -- sha256 of the driver's Bearer token
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX devices_driver_idx ON devices (driver_id);

CREATE TABLE positions (
    driver_id   bigint NOT NULL REFERENCES drivers (id) ON DELETE CASCADE,
    device_time timestamptz NOT NULL,
    server_time timestamptz NOT NULL,
    lat         double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng         double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    speed_mps   real,
    heading     real,
    accuracy_m  real,
    battery     real,
    -- Delivery is at-least-once: the primary key makes redelivered pings no-ops,
    -- and serves time-range reads of one driver's trail.
    PRIMARY KEY (driver_id, device_time)
);
-- Time-range reads across all drivers (retention pruning, analytics).
CREATE INDEX positions_server_time_brin ON positions USING brin (server_time);
