-- The bot processes sharing this store, each with its shards and a heartbeat (as SQLite's 0009).
CREATE TABLE bot_processes (
    id           text COLLATE "C" PRIMARY KEY,
    host         text NOT NULL,
    pid          integer NOT NULL,
    shards       text NOT NULL,
    started_at   bigint NOT NULL,
    heartbeat_at bigint NOT NULL
);
