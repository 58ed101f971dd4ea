-- Digests the way servers want them: filters, a role to ping, a layout, pausing, publishing,
-- and deliveries that remember how they were sent.

ALTER TABLE digests ADD COLUMN filters TEXT;                       -- JSON, NULL: none
ALTER TABLE digests ADD COLUMN mention_role_id INTEGER;            -- pinged by the first message
ALTER TABLE digests ADD COLUMN style TEXT NOT NULL DEFAULT 'cards'
    CHECK (style IN ('cards', 'compact'));
ALTER TABLE digests ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;  -- kept, not scheduled
ALTER TABLE digests ADD COLUMN publish INTEGER NOT NULL DEFAULT 0; -- crosspost (announcements)

-- A delivery is sent again (after a crash or a failure) exactly as it was planned.
ALTER TABLE deliveries ADD COLUMN mention_role_id INTEGER;
ALTER TABLE deliveries ADD COLUMN style TEXT NOT NULL DEFAULT 'cards';
-- Where its later parts go: a forum digest's post (a thread), once its first part created it.
ALTER TABLE deliveries ADD COLUMN post_id INTEGER;

DROP INDEX digests_due;
CREATE INDEX digests_due ON digests (next_run_at) WHERE status <> 'inactive' AND NOT paused;

-- Where to look for its messages when a delivery cut short is resolved: every message after this
-- id (a Discord snowflake taken just before the first part was sent), not only the last 100.
ALTER TABLE deliveries ADD COLUMN history_after INTEGER;
