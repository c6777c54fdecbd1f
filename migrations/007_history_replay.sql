-- History replay reads one driver's day at a time: 43,200 fixes at one every 2 s. The
-- tracker writes every driver's fixes interleaved by time, so that day lies on most of the
-- table's pages; through the plain primary key the read touched 24,500 pages (8 KB each)
-- for 43,200 rows, 250-330 ms warm on the bench with 50 drivers and seconds cold. With the
-- columns replay reads carried in the key's index, it is an index-only scan of about 400
-- pages (25 ms). The primary key keeps its name and its uniqueness (ON CONFLICT
-- (driver_id, device_time) still finds it); the index grows from about 30 to about 75
-- bytes per fix and no second index is kept. Rebuilding it locks positions for a few
-- seconds per million rows: the tracker's writes wait, and Kafka keeps the pings meanwhile.
ALTER TABLE positions
    DROP CONSTRAINT positions_pkey,
    ADD CONSTRAINT positions_pkey PRIMARY KEY (driver_id, device_time)
        INCLUDE (lat, lng, speed_mps, heading, accuracy_m, altitude_m, flag);

-- An index-only scan skips the table only for pages vacuum has marked all-visible. The
-- default waits for inserts of 20% of the table (days of history) before vacuuming an
-- insert-only table; every 50,000 new fixes keeps today's history index-only too.
ALTER TABLE positions SET (autovacuum_vacuum_insert_threshold = 50000, autovacuum_vacuum_insert_scale_factor = 0);
