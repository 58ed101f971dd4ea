-- Channel digests: one per channel, combining its topics, on a wall-clock schedule; and the
-- deliveries that make each digest arrive exactly once.

CREATE TABLE digests (
    channel_id        INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL,
    local_time        TEXT NOT NULL,                 -- HH:MM, 24-hour
    timezone          TEXT NOT NULL,                 -- IANA name
    days              TEXT NOT NULL,                 -- daily | weekdays | weekends | mon,wed,fri
    max_items         INTEGER NOT NULL,
    next_run_at       INTEGER NOT NULL,              -- Unix seconds, UTC
    status            TEXT NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'failing', 'inactive')),
    failure           TEXT,                          -- why it is failing or inactive
    failure_notified  INTEGER NOT NULL DEFAULT 0,    -- the admin has been told of this failure
    notify_channel_id INTEGER,                       -- where an admin last used /digest
    last_delivered_at INTEGER
);
CREATE INDEX digests_due ON digests (next_run_at) WHERE status <> 'inactive';
CREATE INDEX digests_by_guild ON digests (guild_id);

CREATE TABLE digest_topics (
    channel_id INTEGER NOT NULL REFERENCES digests ON DELETE CASCADE,
    topic_key  TEXT NOT NULL,
    PRIMARY KEY (channel_id, topic_key)
) WITHOUT ROWID;

-- A delivery is recorded (pending) before anything is sent and finished after; each message
-- carries the delivery's marker, so a delivery cut short can be resolved from the channel.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    channel_id  INTEGER NOT NULL,
    guild_id    INTEGER,
    marker      TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    contents    TEXT NOT NULL,          -- JSON list: the text of each message
    attempts    INTEGER NOT NULL DEFAULT 0,
    retry_at    INTEGER,                -- a pending delivery is not tried again before this
    error       TEXT,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX deliveries_pending ON deliveries (channel_id) WHERE state = 'pending';

CREATE TABLE delivery_items (
    delivery_id INTEGER NOT NULL REFERENCES deliveries ON DELETE CASCADE,
    part        INTEGER NOT NULL,       -- which message (0-based)
    position    INTEGER NOT NULL,
    article_id  TEXT NOT NULL,
    story_id    TEXT NOT NULL,
    PRIMARY KEY (delivery_id, part, position)
) WITHOUT ROWID;
CREATE INDEX delivery_items_by_story ON delivery_items (story_id);

CREATE TABLE delivery_parts (
    delivery_id INTEGER NOT NULL REFERENCES deliveries ON DELETE CASCADE,
    part        INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, part)
) WITHOUT ROWID;
