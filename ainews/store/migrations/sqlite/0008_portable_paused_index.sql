-- The due digests are asked for with "paused = 0", the form both engines understand (PostgreSQL
-- keeps flags as smallint, and NOT needs a boolean): the partial index says the same, so SQLite
-- still uses it.
DROP INDEX digests_due;
CREATE INDEX digests_due ON digests (next_run_at) WHERE status <> 'inactive' AND paused = 0;
