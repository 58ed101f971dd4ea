-- Real corpora: an article's URLs may be shared with other files, and a file may be re-pointed.

-- Several articles may name one URL (a file whose webUrl is another file's AMP copy, two files
-- re-pointed to one outlet): each keeps it, and sharing one makes them one story. Before, the
-- last article saved took the URL from the others.
CREATE TABLE article_urls_shared (
    url_key    INTEGER NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (url_key, article_id)
) WITHOUT ROWID;
INSERT INTO article_urls_shared (url_key, article_id)
    SELECT url_key, article_id FROM article_urls ORDER BY url_key, article_id;
DROP TABLE article_urls;
ALTER TABLE article_urls_shared RENAME TO article_urls;

-- The articles a file held one after the other: a curation tool re-pointed the file to another
-- outlet's copy of its story. The file is the curator's unit of a story, so the two stay one
-- story for good, whatever the file holds later and after either article is withdrawn.
CREATE TABLE repointed_articles (
    earlier_id TEXT NOT NULL,
    later_id   TEXT NOT NULL,
    PRIMARY KEY (earlier_id, later_id)
) WITHOUT ROWID;
CREATE INDEX repointed_articles_by_later ON repointed_articles (later_id, earlier_id);
-- The article a file held before it was last saved: a file caught half-written (rejected) and
-- then re-pointed still links the article it held to the one it holds now.
ALTER TABLE source_files ADD COLUMN last_article_id TEXT;

-- Articles whose card changed since they were last shown (title, excerpt, image, URL, provider:
-- what a card shows, not what curation tools rewrite on every run): the digest messages of the
-- last days that carry one are edited to the current card, then the row goes.
CREATE TABLE cards_changed (
    article_id TEXT PRIMARY KEY
) WITHOUT ROWID;

-- The digest messages that carry an article, newest last: where to edit its card.
CREATE INDEX ledger_digests_by_article ON ledger (article_id, posted_at) WHERE source = 'digest';

-- Which delivery (and part) a digest message belongs to, to edit it.
CREATE INDEX delivery_parts_by_message ON delivery_parts (message_id);

-- Digest messages found deleted (404) when editing: never edited again.
CREATE TABLE messages_gone (
    message_id INTEGER PRIMARY KEY
);

-- Read every file again at the next ingest (originalUrl aliases, videos, cleaned text, dropped
-- decorations), and regroup every story after it.
UPDATE source_files SET size = -1;
INSERT OR IGNORE INTO stories_to_regroup (article_id) VALUES ('*');
