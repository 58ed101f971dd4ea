-- The process sending a pending delivery now (bot_processes.id); NULL while none is. Another
-- process takes a delivery over only once its claimer is no longer live: two processes never
-- send one delivery at once, and one that died leaves its deliveries to the others.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
