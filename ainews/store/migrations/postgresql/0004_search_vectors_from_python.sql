-- A cold ingest made cheaper for the server, the one part of an ingest that does not run in
-- parallel (bench/RESULTS.md).

-- Search vectors are built in Python (ainews.store.search_vectors) by the parsing workers and
-- stored as they come: the server building them from the text in a generated column was more
-- than half its work. Queries are built by the same Python, so the folding functions go.
ALTER TABLE articles ALTER COLUMN search_vector DROP EXPRESSION;
DROP FUNCTION ainews_words(text);
DROP FUNCTION ainews_fold(text);

-- An article's JSON is compressed with LZ4 where the server has it: several times cheaper to
-- compress than the default (pglz), for about the same size. Values stored before keep theirs.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_settings
               WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER TABLE articles ALTER COLUMN data SET COMPRESSION lz4;
    END IF;
END
$$;

-- Read every file again at the next ingest, so every article's vector is built the new way.
UPDATE source_files SET size = -1;
