-- The article index: files seen, articles, their URLs, topics, related coverage and full text.

-- A rowid table (not WITHOUT ROWID keyed by path): entries of the index by article then hold a
-- small rowid rather than the path, and that index is the one ingest writes at random places.
CREATE TABLE source_files (
    path        TEXT NOT NULL UNIQUE,
    mtime_ns    INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    article_id  TEXT,              -- the article this file holds, NULL when rejected
    error       TEXT,              -- the one-line reason it was rejected, NULL when valid
    CHECK ((article_id IS NULL) <> (error IS NULL))
);
CREATE INDEX source_files_by_article ON source_files (article_id);

CREATE TABLE articles (
    seq           INTEGER PRIMARY KEY,   -- the full-text index's rowid
    id            TEXT NOT NULL UNIQUE,  -- from the canonical webUrl
    story_id      TEXT NOT NULL,         -- id of the story (the article and its coverage)
    active        INTEGER NOT NULL DEFAULT 1,  -- 0 once every file holding it is gone
    title         TEXT NOT NULL,
    excerpt       TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    topics_text   TEXT NOT NULL,         -- display names, for full-text search
    published_at  INTEGER,               -- Unix seconds, UTC
    data          TEXT NOT NULL          -- the whole article as JSON, for cards
);
CREATE INDEX articles_newest ON articles (active, published_at DESC);
CREATE INDEX articles_by_story ON articles (story_id);
-- Only the articles grouped into another's story: regrouping resets those without reading every
-- article (a full scan of this table reads all their JSON too).
CREATE INDEX articles_in_other_stories ON articles (id) WHERE story_id <> id;

-- The canonical webUrl and AMP aliases of each article, as 64-bit hashes of the canonical URL
-- (ainews.corpus.urls.url_key): small keys keep ingest fast; the URLs themselves are in data.
-- Not indexed by article: the keys are random, so such an index costs every ingest a page write
-- per URL, while only replacing an article that is already stored needs it (a scan then).
CREATE TABLE article_urls (
    url_key    INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL
);

-- The related coverage an article lists, by the same URL keys.
CREATE TABLE article_related (
    article_id TEXT NOT NULL,
    url_key    INTEGER NOT NULL,
    PRIMARY KEY (article_id, url_key)
) WITHOUT ROWID;
CREATE INDEX article_related_by_url ON article_related (url_key);

CREATE TABLE topics (
    key  TEXT PRIMARY KEY,   -- case-folded
    name TEXT NOT NULL       -- display name, as first seen
) WITHOUT ROWID;

-- Queries name the topic (and the article); replacing a stored article scans, as above.
CREATE TABLE article_topics (
    topic_key  TEXT NOT NULL,
    article_id TEXT NOT NULL,
    PRIMARY KEY (topic_key, article_id)
) WITHOUT ROWID;

-- Full text of title, excerpt, provider and topics. Kept in step by ArticleRepository in bulk
-- statements (per-row triggers measured 4x slower on a 100,000-article ingest).
CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, excerpt, provider_name, topics_text,
    content = 'articles', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2'
);
