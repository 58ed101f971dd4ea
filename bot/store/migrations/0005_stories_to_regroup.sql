-- Articles whose story may have changed since stories were last grouped. Saving an article adds
-- it here in the same transaction; regrouping reads the stories around these, groups them again
-- and empties the table in one transaction. So a rescan that changed 100 articles regroups a few
-- hundred, not the whole corpus, and a crash between saving and regrouping leaves the work to
-- the next ingest instead of leaving stories stale.
CREATE TABLE stories_to_regroup (
    article_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Story ids are kept up to date from here on: group every article once now.
INSERT INTO stories_to_regroup (article_id) SELECT id FROM articles;
