-- GPS quality and phone apps: altitude and extra attributes on positions, the filter
-- decision for flagged fixes, and attribute-only device events (no coordinates).

ALTER TABLE positions
    ADD COLUMN altitude_m real,
    -- NULL: accepted and shown live; otherwise why it was kept out of the live view
    -- (out-of-order, implausible-jump, inaccurate).
    ADD COLUMN flag text,
    ADD COLUMN attributes jsonb;

CREATE TABLE device_events (
    driver_id   bigint NOT NULL REFERENCES drivers (id) ON DELETE CASCADE,
    device_time timestamptz NOT NULL,
    server_time timestamptz NOT NULL,
    attributes  jsonb NOT NULL,
    PRIMARY KEY (driver_id, device_time)
);
