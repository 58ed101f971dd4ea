-- The bot processes sharing this store, each with its shards and a heartbeat: /status lists the
-- live ones, and the digest pacer of each takes its share of the bot's one global rate limit.
CREATE TABLE bot_processes (
    id           TEXT PRIMARY KEY,      -- random, per start
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    shards       TEXT NOT NULL,         -- "0-3 of 16", or "all"
    started_at   INTEGER NOT NULL,      -- Unix seconds, UTC
    heartbeat_at INTEGER NOT NULL
) WITHOUT ROWID;
