-- Sessions are rows, so signing out, a new password or a disabled account ends them at once on
-- every web process. (A signed cookie on its own stays valid until it expires, whatever happens.)
-- Cookies from before this migration name no session and simply ask to sign in again.

ALTER TABLE users ADD COLUMN disabled_at timestamptz;

CREATE TABLE user_sessions (
    id_hash     bytea PRIMARY KEY,           -- sha256 of the random id inside the signed cookie
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    user_agent  text NOT NULL DEFAULT ''    -- shown when a user reviews where they are signed in
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
CREATE INDEX user_sessions_expiry ON user_sessions (expires_at);
