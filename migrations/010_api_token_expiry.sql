-- User API tokens end (issue 15): each has an expiry, chosen when it is issued (90 days unless
-- said otherwise), and a new password revokes them unless the owner keeps them on purpose.
-- Its owner sees each token on /account by a hint that gives nothing away (its last four
-- characters) and when it was last used (to the hour: a write at most hourly per token).

ALTER TABLE api_tokens
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN hint         text NOT NULL DEFAULT '';

-- Tokens from before had no end. They get the default lifetime from today: nothing stops on
-- upgrade day, and nothing lives forever.
UPDATE api_tokens SET expires_at = now() + interval '90 days' WHERE expires_at IS NULL;
ALTER TABLE api_tokens ALTER COLUMN expires_at SET NOT NULL;

-- A user's live tokens (listing, revoking on a new password) without a scan of everyone's.
CREATE INDEX api_tokens_user_live ON api_tokens (user_id) WHERE revoked_at IS NULL;
