-- /news, /latest and /topics from indexes alone, without reading article rows (an article row,
-- with its JSON, fills most of a page: reading one per article checked made a 100,000-article
-- /news take 5-20 ms of reads instead of 1-2 ms).
--
-- articles_newest also holds each article's id and story: walking it newest first, the topic of
-- each article (article_topics) and whether its story was posted in the channel are checked from
-- indexes, and the article row is read only for the page returned. The id also completes the
-- ORDER BY published_at DESC, id, so a walk stops at the page instead of sorting ties.
DROP INDEX articles_newest;
CREATE INDEX articles_newest ON articles (active, published_at DESC, id, story_id);

-- The articles of a story with their ids: "was any article of this story posted in the channel"
-- (ainews.store.catalog.UNSEEN_IN_CHANNEL) looks each id up in the ledger without reading rows.
DROP INDEX articles_by_story;
CREATE INDEX articles_by_story ON articles (story_id, id);
