-- ETAs that learn (hexfleet/eta/): driving time and distance per H3 cell and hour, derived by
-- the worker from position history, and the speeds estimates use, per hour of week.

-- One row per clock hour (UTC) and resolution-8 cell the fleet drove in: sums, so any set of
-- hours merges exactly. Positions are pruned after HISTORY_RETENTION_DAYS; these small rows
-- are kept for LEARNED_SPEEDS_WEEKS, so a short history retention still learns from weeks.
CREATE TABLE speed_hours (
    hour        timestamptz NOT NULL,
    cell8       bigint NOT NULL,
    cell7       bigint NOT NULL,             -- the resolution-7 parent, for the fallback rows
    passes      integer NOT NULL CHECK (passes >= 0),   -- runs of one driver's segments in the cell
    segments    integer NOT NULL CHECK (segments >= 0),
    distance_m  double precision NOT NULL CHECK (distance_m >= 0),
    seconds     double precision NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (hour, cell8)
);

-- The hours derived so far (with or without driving): the cron fills the ones missing.
CREATE TABLE speed_hours_done (
    hour     timestamptz PRIMARY KEY,
    done_at  timestamptz NOT NULL
);

-- What estimates read, per hour of week (0 = Monday 00:00, in LEARNED_SPEEDS_TZ): a row per
-- resolution-8 cell, per resolution-7 cell (the first fallback), and resolution 0 / cell 0
-- for the whole city (the second). Rebuilt whole from speed_hours in one transaction.
CREATE TABLE learned_speeds (
    resolution    smallint NOT NULL CHECK (resolution IN (0, 7, 8)),
    cell          bigint NOT NULL,
    hour_of_week  smallint NOT NULL CHECK (hour_of_week BETWEEN 0 AND 167),
    passes        integer NOT NULL,
    segments      integer NOT NULL,
    distance_m    double precision NOT NULL,
    seconds       double precision NOT NULL,
    learned_at    timestamptz NOT NULL,
    PRIMARY KEY (resolution, cell, hour_of_week)
);
