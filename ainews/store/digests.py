"""Digests in the store: subscriptions and schedules, and the deliveries that make each digest
arrive exactly once (intent recorded before sending, each message's result after)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ainews.corpus.article import article_from_json
from ainews.digest_filters import DigestFilter
from ainews.schedule import Schedule, describe_days, parse_days, parse_time
from ainews.sharding import Shards
from ainews.store.catalog import UNSEEN_IN_CHANNEL, StoredArticle
from ainews.store.database import Database, from_timestamp, to_timestamp
from ainews.store.ledger import PostedArticle, insert_posted
from ainews.store.processes import LIVE_WITHIN

DigestStatus = Literal["active", "failing", "inactive"]
DigestStyle = Literal["cards", "compact"]
#: What a digest's channel is: a forum gets a new post each time, the others messages.
ChannelKind = Literal["text", "announcement", "forum", "thread"]
NO_FILTERS = DigestFilter()
#: Overflow counts stop here ("+1000 more"): counting every unposted article of a huge topic
#: would cost more than the number is worth.
OVERFLOW_COUNT_CAP = 1_000


@dataclass(frozen=True, slots=True)
class Digest:
    channel_id: int
    guild_id: int
    schedule: Schedule
    max_items: int
    next_run_at: datetime
    status: DigestStatus
    failure: str | None
    failure_notified: bool
    notify_channel_id: int | None
    last_delivered_at: datetime | None
    topic_keys: tuple[str, ...]
    filters: DigestFilter = NO_FILTERS
    mention_role_id: int | None = None
    style: DigestStyle = "cards"
    paused: bool = False
    publish: bool = False
    kind: ChannelKind = "text"
    publish_problem: str | None = None


@dataclass(frozen=True, slots=True)
class DigestPart:
    """One message of a digest: its text and the articles it shows, as cards or, in the
    ``compact`` style, as one list."""

    text: str
    articles: tuple[StoredArticle, ...]
    style: DigestStyle = "cards"


@dataclass(frozen=True, slots=True)
class PostedDigest:
    """A digest message in a channel, with the articles it carries as they are now."""

    channel_id: int  #: where the message is: the channel, or a forum digest's post
    guild_id: int | None
    message_id: int
    articles: tuple[StoredArticle, ...]
    style: DigestStyle = "cards"


@dataclass(frozen=True, slots=True)
class ForumPost:
    """The post a forum digest makes: its title, the topics its tags are chosen by, and (once
    the first part created it) the post's id, which later parts go into."""

    title: str
    topics: tuple[str, ...]
    id: int | None = None


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    id: int
    channel_id: int
    guild_id: int | None
    marker: str
    attempts: int
    parts: tuple[DigestPart, ...]
    sent_parts: frozenset[int]
    created_at: datetime
    #: The role its first message mentions (and may ping), if any.
    mention_role_id: int | None = None
    #: Its messages are after this message id in the channel (None: a delivery of an older
    #: release, resolved from the channel's last 100 messages).
    history_after: int | None = None
    kind: ChannelKind = "text"
    #: Each message is published to the servers following the (announcement) channel.
    publish: bool = False
    #: A forum digest: its post's title and topics, and the post once created.
    post: ForumPost | None = None


_DIGEST_COLUMNS = (
    "d.channel_id, d.guild_id, d.local_time, d.timezone, d.days, d.max_items, d.next_run_at,"
    " d.status, d.failure, d.failure_notified, d.notify_channel_id, d.last_delivered_at,"
    " (SELECT {topic_keys} FROM digest_topics WHERE channel_id = d.channel_id), d.filters,"
    " d.mention_role_id, d.style, d.paused, d.publish, d.kind, d.publish_problem"
)


class DigestRepository:
    def __init__(self, database: Database) -> None:
        self.database = database

    # Subscriptions --------------------------------------------------------------------------

    async def subscribe(
        self,
        *,
        channel_id: int,
        guild_id: int,
        topic_key: str,
        schedule: Schedule,
        max_items: int,
        next_run_at: datetime,
        notify_channel_id: int | None,
    ) -> None:
        """Add a topic to the channel's digest (creating it) and set its schedule."""
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO digests (channel_id, guild_id, local_time, timezone, days, max_items,"
                " next_run_at, notify_channel_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (channel_id) DO UPDATE SET local_time = excluded.local_time,"
                " timezone = excluded.timezone, days = excluded.days,"
                " max_items = excluded.max_items, next_run_at = excluded.next_run_at,"
                " notify_channel_id = excluded.notify_channel_id,"
                " status = CASE digests.status WHEN 'inactive' THEN 'active'"
                " ELSE digests.status END",
                (
                    channel_id,
                    guild_id,
                    f"{schedule.local_time:%H:%M}",
                    schedule.timezone,
                    describe_days(schedule.days),
                    max_items,
                    to_timestamp(next_run_at),
                    notify_channel_id,
                ),
            )
            await db.execute(
                "INSERT INTO digest_topics (channel_id, topic_key) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING",
                (channel_id, topic_key),
            )

    async def unsubscribe(self, channel_id: int, topic_key: str) -> bool:
        """Remove a topic; a digest left without topics is removed. False if it was not there."""
        async with self.database.transaction() as db:
            # The digest's row first: a subscribe to the channel at the same moment (which
            # upserts it first) waits for this one, and is not cascaded away with the digest.
            await db.execute(
                "UPDATE digests SET channel_id = channel_id WHERE channel_id = ?", (channel_id,)
            )
            removed = (
                await db.execute(
                    "DELETE FROM digest_topics WHERE channel_id = ? AND topic_key = ?",
                    (channel_id, topic_key),
                )
                > 0
            )
            await db.execute(
                "DELETE FROM digests WHERE channel_id = ? AND NOT EXISTS"
                " (SELECT 1 FROM digest_topics WHERE channel_id = ?)",
                (channel_id, channel_id),
            )
        return removed

    async def get(self, channel_id: int) -> Digest | None:
        found = await self._select("WHERE d.channel_id = ?", (channel_id,))
        return found[0] if found else None

    async def for_guild(self, guild_id: int) -> list[Digest]:
        return await self._select("WHERE d.guild_id = ? ORDER BY d.channel_id", (guild_id,))

    async def due(
        self, now: datetime, limit: int = 1_000, *, shards: Shards | None = None
    ) -> list[Digest]:
        """Digests due by ``now`` (of the servers on ``shards`` only, if given)."""
        return await self._select(
            "WHERE d.status <> 'inactive' AND d.paused = 0 AND d.next_run_at <= ?"
            f"{_on_shards(shards, 'd.guild_id')} ORDER BY d.next_run_at LIMIT ?",
            (to_timestamp(now), limit),
        )

    async def next_due_at(self) -> datetime | None:
        first: int | None = await self.database.fetchval(
            "SELECT min(next_run_at) FROM digests WHERE status <> 'inactive' AND paused = 0"
        )
        return from_timestamp(first)

    async def next_retry_at(self) -> datetime | None:
        """When the first postponed delivery may be tried again (None if none waits; one under
        way has no retry time, and one cut short by a crash is resolved by the first pass)."""
        first: int | None = await self.database.fetchval(
            "SELECT min(retry_at) FROM deliveries WHERE state = 'pending' AND retry_at IS NOT NULL"
        )
        return from_timestamp(first)

    async def status_counts(self) -> dict[str, int]:
        rows = await self.database.fetch("SELECT status, count(*) FROM digests GROUP BY status")
        return {status: count for status, count in rows}

    async def set_filters(self, channel_id: int, filters: DigestFilter) -> None:
        await self._update(channel_id, "filters = ?", (_filters_to_json(filters),))

    async def set_mention_role(self, channel_id: int, role_id: int | None) -> None:
        await self._update(channel_id, "mention_role_id = ?", (role_id,))

    async def set_style(self, channel_id: int, style: DigestStyle) -> None:
        await self._update(channel_id, "style = ?", (style,))

    async def set_publish(self, channel_id: int, publish: bool) -> None:
        await self._update(channel_id, "publish = ?, publish_problem = NULL", (int(publish),))

    async def set_kind(self, channel_id: int, kind: ChannelKind) -> None:
        await self._update(channel_id, "kind = ?", (kind,))

    async def set_publish_problem(self, channel_id: int, problem: str | None) -> None:
        await self._update(channel_id, "publish_problem = ?", (problem,))

    async def set_paused(
        self, channel_id: int, paused: bool, next_run_at: datetime | None = None
    ) -> int:
        """Pause (or resume, from ``next_run_at``) a digest, keeping its settings."""
        if next_run_at is None:
            return await self._update(channel_id, "paused = ?", (int(paused),))
        return await self._update(
            channel_id, "paused = ?, next_run_at = ?", (int(paused), to_timestamp(next_run_at))
        )

    async def set_next_run(self, channel_id: int, next_run_at: datetime) -> None:
        await self._update(channel_id, "next_run_at = ?", (to_timestamp(next_run_at),))

    async def set_notify_channel(self, guild_id: int, channel_id: int) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE digests SET notify_channel_id = ? WHERE guild_id = ?",
                (channel_id, guild_id),
            )

    async def mark_delivered(self, channel_id: int, when: datetime) -> None:
        await self._update(
            channel_id,
            "last_delivered_at = ?, failure = NULL, failure_notified = 0,"
            " status = CASE status WHEN 'failing' THEN 'active' ELSE status END",
            (to_timestamp(when),),
        )

    async def mark_working(self, channel_id: int) -> None:
        """A failing digest's channel takes posts again: active, the failure forgotten."""
        await self._update(
            channel_id,
            "failure = NULL, failure_notified = 0,"
            " status = CASE status WHEN 'failing' THEN 'active' ELSE status END",
            (),
        )

    async def mark_failing(self, channel_id: int, reason: str) -> None:
        await self._update(
            channel_id,
            "status = CASE status WHEN 'inactive' THEN status ELSE 'failing' END, failure = ?",
            (reason,),
        )

    async def mark_failure_notified(self, channel_id: int) -> None:
        await self._update(channel_id, "failure_notified = 1", ())

    async def deactivate_channel(self, channel_id: int, reason: str) -> int:
        return await self._update(channel_id, "status = 'inactive', failure = ?", (reason,))

    async def deactivate_guild(self, guild_id: int, reason: str) -> int:
        async with self.database.transaction() as db:
            return await db.execute(
                "UPDATE digests SET status = 'inactive', failure = ? WHERE guild_id = ?",
                (reason, guild_id),
            )

    # What a digest would post ---------------------------------------------------------------

    async def unposted_count(
        self, channel_id: int, topic_key: str, *, excluding_stories: Sequence[str] = ()
    ) -> int:
        """Stories of a topic not posted in the channel (nor among ``excluding_stories``, the
        ones a digest is about to post), counted up to OVERFLOW_COUNT_CAP. Stories, as /news
        shows them: two sources of one story count once."""
        excluded = {f"x{number}": story for number, story in enumerate(excluding_stories)}
        exclusion = (
            f" AND a.story_id NOT IN ({', '.join(':' + key for key in excluded)})"
            if excluded
            else ""
        )
        return int(
            await self.database.fetchval(
                "SELECT count(*) FROM (SELECT DISTINCT a.story_id FROM article_topics AS t"
                " CROSS JOIN articles AS a ON a.id = t.article_id WHERE t.topic_key = :topic"
                f" AND a.active = 1{UNSEEN_IN_CHANNEL}{exclusion} LIMIT :cap) AS unposted",
                {"topic": topic_key, "channel": channel_id, "cap": OVERFLOW_COUNT_CAP, **excluded},
            )
        )

    # Deliveries -----------------------------------------------------------------------------

    async def start_delivery(
        self,
        *,
        channel_id: int,
        guild_id: int | None,
        marker: str,
        parts: Sequence[DigestPart],
        now: datetime,
        next_run_at: datetime | None,
        mention_role_id: int | None = None,
        history_after: int | None = None,
        kind: ChannelKind = "text",
        publish: bool = False,
        post: ForumPost | None = None,
        claiming: datetime | None = None,
        claimed_by: str | None = None,
    ) -> PendingDelivery | None:
        """Record the intent to deliver ``parts`` (and, for a scheduled run, claim it by moving
        the schedule on to ``next_run_at``) in one transaction, before anything is sent.

        ``claiming`` is the run claimed, the digest's ``next_run_at`` as the caller read it: the
        schedule moves on only if it still is that, so of two deliverers that both found the run
        due (a process and its restarted self, or two processes of a deployment) one claims it
        and the other gets None and sends nothing. ``claimed_by``: the process that sends it
        (see :meth:`claim_delivery`)."""
        async with self.database.transaction() as db:
            if next_run_at is not None:
                claim = "UPDATE digests SET next_run_at = ? WHERE channel_id = ?"
                params: tuple[object, ...] = (to_timestamp(next_run_at), channel_id)
                if claiming is not None:
                    claim += " AND next_run_at = ?"
                    params += (to_timestamp(claiming),)
                if not await db.execute(claim, params) and claiming is not None:
                    return None  # claimed by another deliverer meanwhile
            delivery_id = await db.fetchval(
                "INSERT INTO deliveries (channel_id, guild_id, marker, state, contents, created_at,"
                " style, mention_role_id, history_after, kind, publish, post_title, post_topics,"
                " claimed_by) VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (
                    channel_id,
                    guild_id,
                    marker,
                    json.dumps([p.text for p in parts]),
                    to_timestamp(now),
                    parts[0].style if parts else "cards",
                    mention_role_id,
                    history_after,
                    kind,
                    int(publish),
                    post.title if post else None,
                    json.dumps(post.topics) if post else None,
                    claimed_by,
                ),
            )
            assert delivery_id is not None
            await db.executemany(
                "INSERT INTO delivery_items (delivery_id, part, position, article_id, story_id)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (delivery_id, number, position, item.article.id, item.story_id)
                    for number, part in enumerate(parts)
                    for position, item in enumerate(part.articles)
                ],
            )
        return PendingDelivery(
            delivery_id,
            channel_id,
            guild_id,
            marker,
            0,
            tuple(parts),
            frozenset(),
            from_timestamp(to_timestamp(now)),
            mention_role_id,
            history_after,
            kind,
            publish,
            post,
        )

    async def pending_deliveries(
        self,
        channel_id: int | None = None,
        *,
        retry_due_by: datetime | None = None,
        shards: Shards | None = None,
    ) -> list[PendingDelivery]:
        """Deliveries still pending (in one channel; whose retry time has come, if given; of
        the servers on ``shards``, if given)."""
        where = f"WHERE d.state = 'pending'{_on_shards(shards, 'd.guild_id')}"
        params: list[object] = []
        if channel_id:
            where += " AND d.channel_id = ?"
            params.append(channel_id)
        if retry_due_by is not None:
            where += " AND (d.retry_at IS NULL OR d.retry_at <= ?)"
            params.append(to_timestamp(retry_due_by))
        sent_parts = self.database.group_concat("part")
        rows = await self.database.fetch(
            "SELECT d.id, d.channel_id, d.guild_id, d.marker, d.attempts, d.contents,"
            f" (SELECT {sent_parts} FROM delivery_parts WHERE delivery_id = d.id),"
            " d.created_at, d.style, d.mention_role_id, d.history_after, d.kind, d.publish,"
            " d.post_title, d.post_topics, d.post_id"
            f" FROM deliveries AS d {where} ORDER BY d.id",
            params,
        )
        pending = []
        for row in rows:
            delivery_id, channel, guild, marker, attempts, contents, sent = row[:7]
            created_at, style, mention_role_id, history_after, kind, publish = row[7:13]
            post_title, post_topics, post_id = row[13:]
            items = await self.database.fetch(
                "SELECT i.part, a.data, i.story_id FROM delivery_items AS i"
                " JOIN articles AS a ON a.id = i.article_id WHERE i.delivery_id = ?"
                " ORDER BY i.part, i.position",
                (delivery_id,),
            )
            texts = json.loads(contents)
            parts = tuple(
                DigestPart(
                    text,
                    tuple(
                        StoredArticle(article_from_json(data), story)
                        for part, data, story in items
                        if part == number
                    ),
                    style,
                )
                for number, text in enumerate(texts)
            )
            sent_numbers = frozenset(int(p) for p in sent.split("\x1f")) if sent else frozenset()
            pending.append(
                PendingDelivery(
                    delivery_id,
                    channel,
                    guild,
                    marker,
                    attempts,
                    parts,
                    sent_numbers,
                    from_timestamp(created_at),
                    mention_role_id,
                    history_after,
                    kind,
                    bool(publish),
                    ForumPost(post_title, tuple(json.loads(post_topics)), post_id)
                    if post_title is not None
                    else None,
                )
            )
        return pending

    async def record_part_sent(
        self, delivery: PendingDelivery, part: int, message_id: int, posted_at: datetime
    ) -> None:
        """Discord accepted one message: note it, and the articles it carried in the ledger."""
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO delivery_parts (delivery_id, part, message_id) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (delivery.id, part, message_id),
            )
            await insert_posted(
                db,
                guild_id=delivery.guild_id,
                channel_id=delivery.channel_id,
                message_id=message_id,
                articles=[
                    PostedArticle(item.article.id, item.story_id)
                    for item in delivery.parts[part].articles
                ],
                source="digest",
                posted_at=posted_at,
            )

    async def record_post(self, delivery_id: int, post_id: int) -> None:
        """A forum digest's first part created its post: later parts go into it."""
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET post_id = ? WHERE id = ?", (post_id, delivery_id)
            )

    async def claim_delivery(self, delivery_id: int, process_id: str, now: datetime) -> bool:
        """Claim a pending delivery for ``process_id`` to send it: True when it is unclaimed,
        already its own, or its claimer is no longer a live process (died, or stopped); False
        when another live process is sending it (or it is no longer pending)."""
        async with self.database.transaction() as db:
            claimed = await db.execute(
                "UPDATE deliveries SET claimed_by = :me WHERE id = :id AND state = 'pending'"
                " AND (claimed_by IS NULL OR claimed_by = :me OR NOT EXISTS (SELECT 1 FROM"
                " bot_processes AS p WHERE p.id = deliveries.claimed_by"
                " AND p.heartbeat_at >= :live_since))",
                {
                    "me": process_id,
                    "id": delivery_id,
                    "live_since": to_timestamp(now - LIVE_WITHIN),
                },
            )
        return claimed > 0

    async def finish_delivery(
        self, delivery_id: int, state: Literal["sent", "failed"], now: datetime, error: str | None
    ) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET state = ?, error = ?, finished_at = ?, claimed_by = NULL"
                " WHERE id = ?",
                (state, error, to_timestamp(now), delivery_id),
            )

    async def postpone_delivery(self, delivery_id: int, retry_at: datetime, error: str) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, retry_at = ?, error = ?,"
                " claimed_by = NULL WHERE id = ?",
                (to_timestamp(retry_at), error, delivery_id),
            )

    # Editing cards that changed -------------------------------------------------------------

    async def changed_cards(self, since: datetime, limit: int) -> list[str]:
        """Articles whose card changed and that a digest posted since ``since``; the others
        are dropped from the queue (nothing to edit)."""
        async with self.database.transaction() as db:
            await db.execute(
                "DELETE FROM cards_changed WHERE NOT EXISTS (SELECT 1 FROM ledger AS l"
                " WHERE l.article_id = cards_changed.article_id AND l.source = 'digest'"
                " AND l.posted_at >= ?)",
                (to_timestamp(since),),
            )
        rows = await self.database.fetch(
            "SELECT article_id FROM cards_changed ORDER BY article_id LIMIT ?", (limit,)
        )
        return [article_id for (article_id,) in rows]

    async def digest_messages_with(self, article_id: str, since: datetime) -> list[PostedDigest]:
        """The digest messages posted since ``since`` that carry ``article_id`` (not found gone),
        each with the articles it carries, as they are now."""
        messages = await self.database.fetch(
            "SELECT DISTINCT coalesce(d.post_id, l.channel_id), l.guild_id, l.message_id, d.style"
            " FROM ledger AS l JOIN delivery_parts AS p ON p.message_id = l.message_id"
            " JOIN deliveries AS d ON d.id = p.delivery_id"
            " WHERE l.article_id = ? AND l.source = 'digest' AND l.posted_at >= ?"
            " AND l.message_id NOT IN (SELECT message_id FROM messages_gone)"
            " ORDER BY l.message_id",
            (article_id, to_timestamp(since)),
        )
        found = []
        for channel_id, guild_id, message_id, style in messages:
            rows = await self.database.fetch(
                "SELECT i.article_id FROM delivery_parts AS p JOIN delivery_items AS i"
                " ON i.delivery_id = p.delivery_id AND i.part = p.part"
                " WHERE p.message_id = ? ORDER BY i.position",
                (message_id,),
            )
            carried = [carried_id for (carried_id,) in rows]
            articles = tuple([await self._current_version(carried_id) for carried_id in carried])
            found.append(PostedDigest(channel_id, guild_id, message_id, articles, style))
        return found

    async def card_edited(self, article_id: str) -> None:
        """Every digest message carrying ``article_id`` shows its current card now."""
        async with self.database.transaction() as db:
            await db.execute("DELETE FROM cards_changed WHERE article_id = ?", (article_id,))

    async def message_gone(self, message_id: int) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO messages_gone (message_id) VALUES (?) ON CONFLICT DO NOTHING",
                (message_id,),
            )

    async def _current_version(self, article_id: str) -> StoredArticle:
        """The article as its card should show now: itself while active, else the active
        article its file was re-pointed to (nearest first), else itself as last seen."""
        db = self.database
        seen, frontier = {article_id}, [article_id]
        while frontier:
            marks = ",".join("?" * len(frontier))
            for _, data, story_id, active in await db.fetch(
                f"SELECT id, data, story_id, active FROM articles WHERE id IN ({marks})"
                " ORDER BY id",
                frontier,
            ):
                if active:
                    return StoredArticle(article_from_json(data), story_id)
            rows = await db.fetch(
                f"SELECT later_id FROM repointed_articles WHERE earlier_id IN ({marks}) UNION"
                f" SELECT earlier_id FROM repointed_articles WHERE later_id IN ({marks})",
                [*frontier, *frontier],
            )
            frontier = [other for (other,) in rows if other not in seen]
            seen.update(frontier)
        row = await db.fetchrow("SELECT data, story_id FROM articles WHERE id = ?", (article_id,))
        assert row is not None, f"no article {article_id}"
        return StoredArticle(article_from_json(row[0]), row[1])

    # Helpers --------------------------------------------------------------------------------

    async def _update(self, channel_id: int, assignments: str, params: tuple[object, ...]) -> int:
        async with self.database.transaction() as db:
            return await db.execute(
                f"UPDATE digests SET {assignments} WHERE channel_id = ?", (*params, channel_id)
            )

    async def _select(self, where: str, params: tuple[object, ...]) -> list[Digest]:
        columns = _DIGEST_COLUMNS.format(topic_keys=self.database.group_concat("topic_key"))
        rows = await self.database.fetch(f"SELECT {columns} FROM digests AS d {where}", params)
        return [
            Digest(
                channel_id=row[0],
                guild_id=row[1],
                schedule=Schedule(parse_time(row[2]), row[3], parse_days(row[4])),
                max_items=row[5],
                next_run_at=from_timestamp(row[6]),
                status=row[7],
                failure=row[8],
                failure_notified=bool(row[9]),
                notify_channel_id=row[10],
                last_delivered_at=from_timestamp(row[11]),
                topic_keys=tuple(sorted(row[12].split("\x1f"))) if row[12] else (),
                filters=_filters_from_json(row[13]),
                mention_role_id=row[14],
                style=row[15],
                paused=bool(row[16]),
                publish=bool(row[17]),
                kind=row[18],
                publish_problem=row[19],
            )
            for row in rows
        ]


def _on_shards(shards: Shards | None, guild_column: str) -> str:
    """SQL keeping the rows of the servers on ``shards`` (all rows for None or every shard);
    no server (a DM): shard 0, as Discord does."""
    if shards is None or shards.all:
        return ""
    ids = ", ".join(str(shard) for shard in shards.ids)  # validated integers
    return f" AND ((coalesce({guild_column}, 0) >> 22) % {shards.count}) IN ({ids})"


def _filters_to_json(filters: DigestFilter) -> str | None:
    if not filters.active:
        return None
    return json.dumps(
        {
            "include": [list(term) for term in filters.include],
            "exclude": [list(term) for term in filters.exclude],
            "providers_excluded": list(filters.providers_excluded),
            "min_quality": filters.min_quality,
        }
    )


def _filters_from_json(text: str | None) -> DigestFilter:
    if not text:
        return DigestFilter()
    fields = json.loads(text)
    return DigestFilter(
        include=tuple(tuple(term) for term in fields["include"]),
        exclude=tuple(tuple(term) for term in fields["exclude"]),
        providers_excluded=tuple(fields["providers_excluded"]),
        min_quality=fields["min_quality"],
    )
