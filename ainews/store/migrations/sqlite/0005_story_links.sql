-- Faster story links: related coverage keyed by URL only, and regrouping only what changed.

-- The related coverage an article lists, keyed by URL key alone: ingest writes one B-tree a row
-- instead of two (a table by article plus an index by URL key), and regrouping reads links by
-- URL key. Replacing an article finds its old rows by key, from the stored article.
CREATE TABLE article_related_new (
    url_key    INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (url_key, article_id)
) WITHOUT ROWID;
INSERT INTO article_related_new (url_key, article_id)
    SELECT url_key, article_id FROM article_related ORDER BY url_key, article_id;
DROP TABLE article_related;
ALTER TABLE article_related_new RENAME TO article_related;

-- Articles whose story may have changed since stories were last grouped. Saving an article adds
-- it here in the same transaction; regrouping reads the stories around these, groups them again
-- and empties the table in one transaction. So a rescan that changed 100 articles regroups a few
-- hundred, not the whole corpus, and a crash between saving and regrouping leaves the work to
-- the next ingest instead of leaving stories stale.
CREATE TABLE stories_to_regroup (
    article_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Story ids are kept up to date from here on: regroup every story once now ('*': every story).
INSERT INTO stories_to_regroup (article_id) VALUES ('*');
