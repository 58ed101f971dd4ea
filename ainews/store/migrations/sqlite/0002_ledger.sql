-- What the bot has posted in each channel, and small bits of bot state.

CREATE TABLE ledger (
    seq         INTEGER PRIMARY KEY,
    guild_id    INTEGER,
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,     -- the Discord message that carried the card
    article_id  TEXT NOT NULL,
    story_id    TEXT NOT NULL,        -- the article's story when it was posted
    source      TEXT NOT NULL CHECK (source IN ('command', 'digest')),
    posted_at   INTEGER NOT NULL      -- Unix seconds, UTC
);
CREATE INDEX ledger_by_channel_article ON ledger (channel_id, article_id);

CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
