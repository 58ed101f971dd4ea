-- The process sending a pending delivery now (as SQLite's 0010).
ALTER TABLE deliveries ADD COLUMN claimed_by text COLLATE "C";
