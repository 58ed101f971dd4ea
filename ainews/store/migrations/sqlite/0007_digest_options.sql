-- Digests the way servers want them: filters, a role to ping, a layout, pausing, publishing,
-- and deliveries that remember how they were sent.

ALTER TABLE digests ADD COLUMN filters TEXT;                       -- JSON, NULL: none
ALTER TABLE digests ADD COLUMN mention_role_id INTEGER;            -- pinged by the first message
ALTER TABLE digests ADD COLUMN style TEXT NOT NULL DEFAULT 'cards'
    CHECK (style IN ('cards', 'compact'));
ALTER TABLE digests ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;  -- kept, not scheduled
ALTER TABLE digests ADD COLUMN publish INTEGER NOT NULL DEFAULT 0; -- crosspost (announcements)
-- What the channel is: a forum digest is a new post each time, the others a message.
ALTER TABLE digests ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
    CHECK (kind IN ('text', 'announcement', 'forum', 'thread'));
ALTER TABLE digests ADD COLUMN publish_problem TEXT;               -- why the last publish failed

-- A delivery is sent again (after a crash or a failure) exactly as it was planned.
ALTER TABLE deliveries ADD COLUMN mention_role_id INTEGER;
ALTER TABLE deliveries ADD COLUMN style TEXT NOT NULL DEFAULT 'cards';
ALTER TABLE deliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE deliveries ADD COLUMN publish INTEGER NOT NULL DEFAULT 0;
-- A forum digest's post: its title and topics (for the forum's tags), and once its first part
-- created it, the post (a thread) its later parts go into.
ALTER TABLE deliveries ADD COLUMN post_title TEXT;
ALTER TABLE deliveries ADD COLUMN post_topics TEXT;                -- JSON list of topic names
ALTER TABLE deliveries ADD COLUMN post_id INTEGER;

DROP INDEX digests_due;
CREATE INDEX digests_due ON digests (next_run_at) WHERE status <> 'inactive' AND NOT paused;

-- Where to look for its messages when a delivery cut short is resolved: every message after this
-- id (a Discord snowflake taken just before the first part was sent), not only the last 100.
ALTER TABLE deliveries ADD COLUMN history_after INTEGER;
