-- The OsmAnd device id is a phone's only credential (Traccar Client sends nothing else), so
-- it is kept like a device token: its sha256 only, shown to an admin once, when the device
-- is created or rotated. Existing ids are hashed in place: every phone keeps working with
-- the id it has. The last 4 characters stay as a hint to tell phones apart (16 of the id's
-- 80 bits; ids of 8 characters or fewer keep none).
ALTER TABLE devices ADD COLUMN device_id_hash bytea, ADD COLUMN device_id_hint text;
UPDATE devices SET device_id_hash = sha256(convert_to(device_id, 'UTF8')),
                   device_id_hint = CASE WHEN length(device_id) > 8 THEN right(device_id, 4) END;
ALTER TABLE devices ALTER COLUMN device_id_hash SET NOT NULL;
ALTER TABLE devices ADD CONSTRAINT devices_device_id_hash_key UNIQUE (device_id_hash);
ALTER TABLE devices DROP COLUMN device_id;

-- DROP COLUMN only hides the column and UPDATE leaves the old row versions behind: both
-- would keep the plain ids in the table's files. CLUSTER rewrites the table with its live
-- rows only, the dropped column emptied (VACUUM FULL would too, but cannot run in the
-- migration's transaction). It locks devices briefly: a small table, one row per phone.
-- Copies made before this ran (WAL archives, backups) still hold the plain ids: rotate the
-- devices (`hexfleet drivers rotate ID`) if those copies are a concern.
CLUSTER devices USING devices_pkey;
ALTER TABLE devices SET WITHOUT CLUSTER;
