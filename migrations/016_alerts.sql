-- The alerts desk (issue 18): what needs a dispatcher before a rider calls. The worker's rules
-- (hexfleet/alerts/rules.py) raise an alert per occurrence of a condition and resolve it when
-- the condition clears; dispatchers acknowledge them with a note.
--
-- `occurrence` names one occurrence of a rule's condition for its subject (the search that
-- started at 10:02:13, the assignment made at 10:05, the fix last heard at 10:07:40): the same
-- occurrence never raises a second alert, even after the first was resolved, so a condition
-- that flickers around its threshold cannot ring the dispatcher's bell every cycle.
CREATE TABLE alerts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule            text NOT NULL CHECK (rule IN ('unassigned', 'stale_fix', 'eta_growing', 'not_moving',
                                                   'no_driver_soon', 'restricted_wait')),
    subject_kind    text NOT NULL CHECK (subject_kind IN ('booking', 'driver')),
    -- No foreign key: an alert (and its audit trail) outlives a deleted booking or driver.
    subject_id      bigint NOT NULL,
    occurrence      text NOT NULL CHECK (length(occurrence) BETWEEN 1 AND 200),
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'resolved')),
    raised_at       timestamptz NOT NULL,
    acknowledged_at timestamptz,
    acknowledged_by bigint REFERENCES users (id) ON DELETE SET NULL,
    ack_note        text CHECK (length(ack_note) <= 500),
    resolved_at     timestamptz,
    resolution      text,                        -- why it cleared: assigned, fresh_fix, moving, ...
    details         jsonb NOT NULL DEFAULT '{}', -- what the rule saw (booking, driver, times, cell)
    CHECK ((state = 'resolved') = (resolved_at IS NOT NULL)),
    CHECK ((acknowledged_at IS NULL) OR (state <> 'open'))
);
-- One alert per occurrence, ever.
CREATE UNIQUE INDEX alerts_one_per_occurrence ON alerts (rule, subject_kind, subject_id, occurrence);
-- At most one unresolved alert per rule and subject: acknowledged still counts (the dispatcher
-- knows; the desk must not raise it again while the condition lasts).
CREATE UNIQUE INDEX alerts_one_unresolved ON alerts (rule, subject_kind, subject_id) WHERE state <> 'resolved';
-- The desk reads the unresolved ones every cycle; the panel lists by state, newest first.
CREATE INDEX alerts_state_recent ON alerts (state, raised_at DESC, id DESC);

-- Every change of an alert (raised, acknowledged, resolved): rows with published_at NULL are an
-- outbox the relay publishes to Kafka next to the booking events (one NOTIFY channel), so an
-- alert reaches every control room live if and only if its change committed.
CREATE TABLE alert_events (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id     bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    action       text NOT NULL CHECK (action IN ('raised', 'acknowledged', 'resolved')),
    snapshot     jsonb NOT NULL,                 -- the alert as it is after this change
    at           timestamptz NOT NULL,
    published_at timestamptz
);
CREATE INDEX alert_events_outbox ON alert_events (id) WHERE published_at IS NULL;
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, id);

-- Where a driver has been standing: the desk's "not moving" rules measure from the fix where the
-- driver stopped (within ALERT_STILL_RADIUS_M of it ever since). Kept for the drivers the rules
-- watch (rides in progress; available drivers in restricted zones), dropped when they no longer are.
-- In PostgreSQL rather than Redis so the anchor and the alerts it raises share a transaction.
CREATE TABLE alert_anchors (
    driver_id bigint PRIMARY KEY,
    lat       double precision NOT NULL,
    lng       double precision NOT NULL,
    since     timestamptz NOT NULL
);
