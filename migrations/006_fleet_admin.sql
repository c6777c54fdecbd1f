-- Fleet management from the admin pages: drivers can be deactivated (kept, with their history
-- and rides, but gone from the control room and unable to send), and every admin action is
-- written to an audit log that admins can read.

ALTER TABLE drivers ADD COLUMN deactivated_at timestamptz;

CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    actor        text NOT NULL,                 -- the admin's email, or "command line (user@host)"
    action       text NOT NULL,                 -- e.g. driver.create, user.disable (hexfleet/audit.py)
    target_type  text NOT NULL,                 -- driver, user, fare
    target_id    bigint,
    target_label text NOT NULL DEFAULT '',      -- a name or email, as it was then
    details      jsonb NOT NULL DEFAULT '{}'    -- what changed; never a secret
);
CREATE INDEX audit_log_recent ON audit_log (id DESC);
CREATE INDEX audit_log_target ON audit_log (target_type, target_id, id DESC);
