"""Delivering digests to Discord exactly once, even across crashes and Discord errors.

For each delivery the plan (messages and their articles) is recorded as *pending* before anything
is sent, in the same transaction that moves the schedule on; each message Discord accepts is
recorded with its articles in the ledger. Every message carries the delivery's marker. A pending
delivery found later (after a crash, a timeout or a 5xx, when a message may or may not have
reached the channel) is resolved by reading the channel's recent messages for the bot's own
markers before anything is sent again. So a kill -9 at any moment neither repeats nor loses an
article.

Failures: a 403 or 404 marks the digest *failing* with the reason and tells an admin once; it is
not retried before the next scheduled run. A 5xx, a timeout or a dropped connection is retried
with backoff (the pending delivery is resolved again each time).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

import discord

from ainews.cards import pack_embeds
from ainews.clock import Clock, utc_now
from ainews.digest import (
    compose_digest,
    find_marker,
    forum_post_title,
    part_embeds,
    with_marker,
)
from ainews.pacing import Pacer
from ainews.posting_locks import PostingLocks
from ainews.schedule import next_run_after
from ainews.sharding import Shards
from ainews.store.catalog import NewsCatalog
from ainews.store.database import StoreUnavailable
from ainews.store.digests import (
    OVERFLOW_COUNT_CAP,
    Digest,
    DigestPart,
    DigestRepository,
    ForumPost,
    PendingDelivery,
)

log = logging.getLogger(__name__)

#: How far back in a channel to look for the bot's own digest messages when resolving a delivery
#: of an older release (newer ones read every message after the delivery started).
HISTORY_LOOKBACK = 100
#: Digest messages this old or newer get an article's changed card; older ones stay as posted.
EDIT_CARDS_POSTED_WITHIN = timedelta(days=7)
#: Card edits at most per pass (each rescan): the rest wait for the next.
EDITS_PER_PASS = 50
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
)
#: Deliveries in flight at once; the pacer, not this, sets the pace.
CONCURRENT_DELIVERIES = 32
#: Discord publishes (crossposts) about 10 messages an hour in one announcement channel.
PUBLISHES_PER_HOUR = 10


class Outcome(enum.Enum):
    SENT = "sent"
    NOTHING_NEW = "nothing new"
    FAILED = "failed"
    RETRYING = "retrying"
    SHUTTING_DOWN = "not started: the bot is shutting down"


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """The messages a digest would post, and how many new articles its filters held back."""

    parts: list[DigestPart]
    held_back: int = 0
    #: For a forum digest: the post its first part makes.
    post: ForumPost | None = None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    channel_id: int
    outcome: Outcome
    articles: int = 0
    reason: str | None = None


class PostRefused(Exception):
    """Discord refused the request (a missing permission, an unknown channel, a bad request):
    trying again before something changes will not help. The message says why, for admins;
    ``gone`` says the channel or message does not exist (a 404)."""

    def __init__(self, reason: str, *, gone: bool = False) -> None:
        super().__init__(reason)
        self.gone = gone


class PostFailed(Exception):
    """Discord did not answer properly (a 5xx, a timeout, a dropped connection): the request
    may or may not have taken effect, and may work if tried again later."""


@dataclass(frozen=True, slots=True)
class PostedMessage:
    id: int
    content: str


class DigestChannels(Protocol):
    """The three Discord calls a delivery makes. Each raises :class:`PostRefused` or
    :class:`PostFailed` when Discord says no (``ainews.discord_channels`` is the real one)."""

    async def send(
        self,
        channel_id: int,
        guild_id: int | None,
        *,
        content: str,
        embeds: Sequence[discord.Embed] = (),
        nonce: str | None = None,
        mention_role_id: int | None = None,
    ) -> int:
        """Post a message that may ping nobody but ``mention_role_id`` (if given); returns its
        id."""
        ...

    async def create_post(
        self,
        forum_id: int,
        guild_id: int | None,
        *,
        title: str,
        topics: Sequence[str],
        content: str,
        embeds: Sequence[discord.Embed],
        mention_role_id: int | None = None,
    ) -> int:
        """Make a forum post (its starter message holds ``content`` and ``embeds``), tagged
        with a tag named like one of ``topics`` (or the first, if the forum requires one);
        returns the post's id, which is its starter message's too."""
        ...

    async def own_posts(
        self, forum_id: int, guild_id: int | None, *, after: int | None
    ) -> list[PostedMessage]:
        """The forum's posts the bot made after message id ``after``: each post's id and its
        starter message's content."""
        ...

    async def publish(self, channel_id: int, guild_id: int | None, message_id: int) -> None:
        """Publish a message of an announcement channel to the servers following it."""
        ...

    def history_mark(self) -> int:
        """A message id older than any message the bot posts from now on (Discord's time)."""
        ...

    async def own_messages(
        self, channel_id: int, guild_id: int | None, *, after: int | None
    ) -> list[PostedMessage]:
        """The bot's own messages in the channel after message id ``after`` (None: among the
        last ``HISTORY_LOOKBACK``)."""
        ...

    async def check_can_post(self, channel_id: int, guild_id: int | None) -> None:
        """Ask Discord whether the bot may post digests there now: returns if it may, raises
        :class:`PostRefused` (with the reason) if not."""
        ...

    def system_channel_id(self, guild_id: int) -> int | None:
        """The server's system channel, if it has one (where admins are told of a failure)."""
        ...

    async def edit(
        self,
        channel_id: int,
        guild_id: int | None,
        message_id: int,
        *,
        embeds: Sequence[discord.Embed],
    ) -> None:
        """Replace the embeds of one of the bot's messages (its content stays)."""
        ...


class DigestDeliverer:
    """Composes and delivers digests; one per bot (it spends the pacer's budget)."""

    def __init__(
        self,
        *,
        digests: DigestRepository,
        catalog: NewsCatalog,
        channels: DigestChannels,
        pacer: Pacer,
        posting_locks: PostingLocks,
        clock: Clock,
        shards: Shards | None = None,
        process_id: str | None = None,
    ) -> None:
        self.digests = digests
        #: This process among the deployment's (``bot_processes``): the claimer of the
        #: deliveries it sends.
        self.process_id = process_id or secrets.token_hex(8)
        #: The shards whose servers' digests this deliverer delivers (None: every server).
        self.shards = shards
        self.catalog = catalog
        self.channels = channels
        self.pacer = pacer
        self.posting_locks = posting_locks
        self.clock = clock
        #: Set when there may be work sooner than the scheduler expects (a schedule changed,
        #: a rescan changed cards): the scheduler looks again at once.
        self.woken = asyncio.Event()
        #: When each channel's messages were published in the last hour (monotonic seconds).
        self._published: dict[int, deque[float]] = {}
        self._in_flight = asyncio.Semaphore(CONCURRENT_DELIVERIES)
        self._stopping = False
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def wake(self) -> None:
        """Have the scheduler look at what is due (and at changed cards) now."""
        self.woken.set()

    def stop_accepting(self) -> None:
        """From now on no delivery starts (shutdown); those under way may finish."""
        self._stopping = True

    async def wait_idle(self, grace_seconds: float) -> bool:
        """Wait until no delivery is under way; False if some still were after the grace."""
        try:
            await asyncio.wait_for(self._idle.wait(), grace_seconds)
        except TimeoutError:
            return False
        return True

    async def run_due(self) -> list[DeliveryResult]:
        """One scheduler pass: retry pending deliveries that are due, then deliver due digests."""
        if self._stopping:
            return []
        now = self.clock()
        pending = await self.digests.pending_deliveries(retry_due_by=now, shards=self.shards)
        due = await self.digests.due(now, limit=10_000, shards=self.shards)
        jobs = [self._resume(p) for p in pending if p.channel_id not in {d.channel_id for d in due}]
        jobs += [self.deliver(digest, scheduled=True) for digest in due]
        results = []
        for outcome in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(outcome, StoreUnavailable):  # recorded as pending: resumed later
                log.warning("a digest delivery stopped: %s; it resumes once it is back", outcome)
            elif isinstance(outcome, BaseException):  # one channel's trouble, not the pass's
                log.error("a digest delivery failed unexpectedly", exc_info=outcome)
            else:
                results.append(outcome)
        return results

    async def seconds_until_due(self, at_most: float) -> float:
        """How long until a digest (or a postponed delivery) is due, by the clock, at most
        ``at_most``; 0 when one is due already."""
        moments = [
            moment
            for moment in (
                await self.digests.next_due_at(),
                await self.digests.next_retry_at(),
            )
            if moment is not None
        ]
        if not moments:
            return at_most
        wait = (min(moments) - self.clock()).total_seconds()
        return min(max(wait, 0.0), at_most)

    async def deliver(
        self, digest: Digest, *, scheduled: bool, limit: int | None = None
    ) -> DeliveryResult:
        """Deliver what is new for ``digest`` now (``limit`` overrides its max_items)."""
        if self._stopping:
            return DeliveryResult(digest.channel_id, Outcome.SHUTTING_DOWN)
        async with self._slot(digest.channel_id):
            if self._stopping:  # shutdown began while this one waited for the channel
                return DeliveryResult(digest.channel_id, Outcome.SHUTTING_DOWN)
            if scheduled:  # another pass may have run it while this one waited for the channel
                current = await self.digests.get(digest.channel_id)
                if current is None or current.paused or current.next_run_at > self.clock():
                    return DeliveryResult(digest.channel_id, Outcome.NOTHING_NEW)
                digest = current
            for pending in await self.digests.pending_deliveries(digest.channel_id):
                if not await self._claim(pending):  # another process is sending it
                    return DeliveryResult(digest.channel_id, Outcome.NOTHING_NEW)
                result = await self._send(pending, check_channel=True)
                if result.outcome is not Outcome.SENT:
                    if scheduled:  # this run's one attempt is spent: the schedule moves on
                        await self.digests.set_next_run(
                            digest.channel_id, next_run_after(digest.schedule, self.clock())
                        )
                    return result
            now = self.clock()
            plan = await self.plan(digest, limit)
            next_run = next_run_after(digest.schedule, now) if scheduled else None
            if not plan.parts:
                if next_run is not None:
                    await self.digests.set_next_run(digest.channel_id, next_run)
                if digest.status == "failing":
                    await self._recheck_failing(digest)
                return DeliveryResult(digest.channel_id, Outcome.NOTHING_NEW)
            started = await self.digests.start_delivery(
                channel_id=digest.channel_id,
                guild_id=digest.guild_id,
                marker=secrets.token_hex(6),
                parts=plan.parts,
                now=now,
                next_run_at=next_run,
                mention_role_id=digest.mention_role_id,
                history_after=self.channels.history_mark(),
                kind=digest.kind,
                publish=digest.publish and digest.kind == "announcement",
                post=plan.post,
                claiming=digest.next_run_at if scheduled else None,
                claimed_by=self.process_id,
            )
            if started is None:  # another deliverer claimed this run first: it sends it
                return DeliveryResult(digest.channel_id, Outcome.NOTHING_NEW)
            return await self._send(started, check_channel=False)

    async def plan(self, digest: Digest, limit: int | None = None) -> DigestPlan:
        """What the digest would post now, and what its filters hold back (nothing recorded)."""
        topics = [t for t in await self.catalog.topics() if t.key in digest.topic_keys]
        wanted = digest.max_items if limit is None else limit
        overflow: dict[str, int] = {}
        held_back = 0
        if digest.filters.active:
            # The filters are words, not SQL: look at the newest unseen stories, up to the
            # overflow cap, and keep those that pass.
            unseen = await self.catalog.newest(
                topics=topics, channel_id=digest.channel_id, limit=OVERFLOW_COUNT_CAP
            )
            passing = [item for item in unseen if digest.filters.passes(item.article)]
            held_back = len(unseen) - len(passing)
            chosen, rest = passing[:wanted], passing[wanted:]
            for topic in topics:
                overflow[topic.name] = sum(
                    topic.key in {name.casefold() for name in item.article.topics} for item in rest
                )
        else:
            chosen = await self.catalog.newest(
                topics=topics, channel_id=digest.channel_id, limit=wanted
            )
            chosen_stories = [item.story_id for item in chosen]
            for topic in topics:
                overflow[topic.name] = await self.digests.unposted_count(
                    digest.channel_id, topic.key, excluding_stories=chosen_stories
                )
        local_now = self.clock().astimezone(digest.schedule.zone)
        names = [t.name for t in topics]
        parts = compose_digest(
            chosen,
            overflow,
            topic_names=names,
            local_now=local_now,
            style=digest.style,
            mention_role_id=digest.mention_role_id,
        )
        post = ForumPost(forum_post_title(local_now, names), tuple(names))
        return DigestPlan(parts, held_back, post if digest.kind == "forum" else None)

    async def edit_changed_cards(self, limit: int = EDITS_PER_PASS) -> int:
        """Edit the digest messages of the last days whose articles' cards changed (a curator
        rewrote a title, re-pointed a file...) to show the current cards; returns how many
        were edited. Paced with the digests; a message that is gone is never tried again, one
        whose new cards would not fit is left as posted; when Discord fails, the rest wait for
        the next pass. Command answers are left as posted."""
        handled: set[int] = set()
        edited = 0
        since = self.clock() - EDIT_CARDS_POSTED_WITHIN
        for article_id in await self.digests.changed_cards(since, limit):
            for message in await self.digests.digest_messages_with(article_id, since):
                if message.message_id in handled:
                    continue
                if len(handled) >= limit or self._stopping:
                    return edited
                handled.add(message.message_id)
                embeds = part_embeds(DigestPart("", message.articles, message.style))
                if len(pack_embeds(embeds)) > 1:  # grew past one message: leave it as posted
                    continue
                await self.pacer.wait()
                try:
                    await self.channels.edit(
                        message.channel_id, message.guild_id, message.message_id, embeds=embeds
                    )
                except PostRefused as refusal:
                    log.info("card edit of message %s refused: %s", message.message_id, refusal)
                    if refusal.gone:
                        await self.digests.message_gone(message.message_id)
                except PostFailed as failure:
                    log.warning("card edits wait for the next pass: %s", failure)
                    return edited
                else:
                    edited += 1
            await self.digests.card_edited(article_id)
        if edited:
            log.info("edited %d digest message(s) to show changed cards", edited)
        return edited

    async def _recheck_failing(self, digest: Digest) -> None:
        """Nothing to post, but the digest is failing: ask Discord whether the channel takes
        posts again, so that a failure fixed since is not shown until the next digest."""
        try:
            await self.pacer.wait()
            await self.channels.check_can_post(digest.channel_id, digest.guild_id)
        except (PostRefused, PostFailed) as still:
            log.info("digest of channel %s still failing: %s", digest.channel_id, still)
            return
        await self.digests.mark_working(digest.channel_id)
        log.info("digest of channel %s works again", digest.channel_id)

    async def _resume(self, pending: PendingDelivery) -> DeliveryResult:
        if self._stopping:
            return DeliveryResult(pending.channel_id, Outcome.SHUTTING_DOWN)
        async with self._slot(pending.channel_id):
            # Listed before waiting for the channel: another delivery (/digest now) may have
            # resolved it meanwhile, so take it as it is now, if it is still pending.
            current = await self.digests.pending_deliveries(pending.channel_id)
            still = next((p for p in current if p.id == pending.id), None)
            if still is None or not await self._claim(still):
                return DeliveryResult(pending.channel_id, Outcome.NOTHING_NEW)
            return await self._send(still, check_channel=True)

    async def _claim(self, pending: PendingDelivery) -> bool:
        """Claim ``pending`` for this process before sending any of it: False while another
        live process sends it. Liveness is real time (heartbeats), whatever the clock says."""
        return await self.digests.claim_delivery(pending.id, self.process_id, utc_now())

    @asynccontextmanager
    async def _slot(self, channel_id: int) -> AsyncIterator[None]:
        """One delivery under way: bounded in number, one per channel, counted for shutdown."""
        async with self._in_flight, self.posting_locks.for_channel(channel_id):
            self._active += 1
            self._idle.clear()
            try:
                yield
            finally:
                self._active -= 1
                if not self._active:
                    self._idle.set()

    async def _send(self, pending: PendingDelivery, *, check_channel: bool) -> DeliveryResult:
        sent = set(pending.sent_parts)
        try:
            if check_channel:
                found, pending = await self._recover_sent_parts(pending, sent)
                sent |= found
        except (PostRefused, PostFailed) as trouble:
            return await self._unresolved(pending, str(trouble))
        try:
            for number, part in enumerate(pending.parts):
                if number in sent:
                    continue
                await self.pacer.wait()
                message_id = await self._post_part(pending, number, part)
                if pending.post is not None and pending.post.id is None:
                    await self.digests.record_post(pending.id, message_id)
                    pending = replace(pending, post=replace(pending.post, id=message_id))
                await self.digests.record_part_sent(pending, number, message_id, self.clock())
                sent.add(number)
                if pending.publish:
                    await self._publish(pending, message_id)
        except PostRefused as refusal:
            return await self._failed(pending, str(refusal))
        except PostFailed as failure:
            return await self._postpone(pending, str(failure))
        now = self.clock()
        await self.digests.finish_delivery(pending.id, "sent", now, None)
        await self.digests.mark_delivered(pending.channel_id, now)
        count = sum(len(part.articles) for part in pending.parts)
        log.info(
            "digest delivered: channel %s, %d articles, %d messages: sent",
            pending.channel_id,
            count,
            len(pending.parts),
        )
        return DeliveryResult(pending.channel_id, Outcome.SENT, count)

    async def _post_part(self, pending: PendingDelivery, number: int, part: DigestPart) -> int:
        """Send one part: a message in the channel (or in the forum post), or, for a forum
        digest's first part, the post itself. Returns the message's id."""
        content = with_marker(part.text, pending.marker, number, len(pending.parts))
        # Only the first message names the role, and only it may ping it.
        mention = pending.mention_role_id if number == 0 else None
        post = pending.post
        if post is not None and post.id is None:
            return await self.channels.create_post(
                pending.channel_id,
                pending.guild_id,
                title=post.title,
                topics=post.topics,
                content=content,
                embeds=part_embeds(part),
                mention_role_id=mention,
            )
        return await self.channels.send(
            post.id if post is not None and post.id is not None else pending.channel_id,
            pending.guild_id,
            content=content,
            embeds=part_embeds(part),
            # The same nonce for every try of this part: Discord then refuses to store it
            # twice within a few minutes, a second safeguard beside the marker.
            nonce=f"{pending.marker}-{number}",
            mention_role_id=mention,
        )

    async def _publish(self, pending: PendingDelivery, message_id: int) -> None:
        """Publish a message to the channel's followers, within Discord's hourly limit; a
        refusal is recorded for /digest list, never retried."""
        recent = self._published.setdefault(pending.channel_id, deque())
        hour_ago = time.monotonic() - 3600
        while recent and recent[0] < hour_ago:
            recent.popleft()
        if len(recent) >= PUBLISHES_PER_HOUR:
            problem = (
                f"a message was not published: Discord publishes at most {PUBLISHES_PER_HOUR} "
                "messages an hour in a channel"
            )
        else:
            recent.append(time.monotonic())
            try:
                await self.pacer.wait()
                await self.channels.publish(pending.channel_id, pending.guild_id, message_id)
            except PostRefused as refusal:
                problem = f"a message was not published: {refusal}"
            except PostFailed as failure:  # a 429 after a restart lost the count: wait an hour
                recent.extend([time.monotonic()] * PUBLISHES_PER_HOUR)
                problem = f"a message was not published: {failure}"
            else:
                problem = None
        if problem is not None:
            log.warning("digest of channel %s: %s", pending.channel_id, problem)
        await self.digests.set_publish_problem(pending.channel_id, problem)

    async def _recover_sent_parts(
        self, pending: PendingDelivery, known: set[int]
    ) -> tuple[set[int], PendingDelivery]:
        """Parts of ``pending`` already posted (found by marker), now recorded; and the
        delivery with its forum post, if that is how its post was found."""
        found: set[int] = set()
        await self.pacer.wait()
        where = pending.channel_id
        if pending.post is not None:
            if pending.post.id is None:
                posts = await self.channels.own_posts(
                    pending.channel_id, pending.guild_id, after=pending.history_after
                )
                post_id = next((p.id for p in posts if _marked(p, pending.marker)), None)
                if post_id is None:  # the post was never made: nothing was sent
                    return found, pending
                await self.digests.record_post(pending.id, post_id)
                pending = replace(pending, post=replace(pending.post, id=post_id))
            assert pending.post is not None and pending.post.id is not None
            where = pending.post.id
        recent = await self.channels.own_messages(
            where, pending.guild_id, after=pending.history_after
        )
        for message in recent:
            mark = find_marker(message.content)
            if mark is None or mark[0] != pending.marker or mark[1] in known | found:
                continue
            await self.digests.record_part_sent(pending, mark[1], message.id, self.clock())
            found.add(mark[1])
        if found:
            log.info("delivery %s: found %d part(s) already posted", pending.id, len(found))
        return found, pending

    async def _failed(self, pending: PendingDelivery, reason: str) -> DeliveryResult:
        now = self.clock()
        await self.digests.finish_delivery(pending.id, "failed", now, reason)
        log.warning("digest delivery failed: channel %s: %s", pending.channel_id, reason)
        await self._mark_failing(pending.channel_id, reason)
        return DeliveryResult(pending.channel_id, Outcome.FAILED, reason=reason)

    async def _mark_failing(self, channel_id: int, reason: str) -> None:
        """The digest is failing: say why in /digest list, and tell its admins once."""
        await self.digests.mark_failing(channel_id, reason)
        digest = await self.digests.get(channel_id)
        if digest is not None and not digest.failure_notified:
            await self._tell_admins(digest, reason)

    async def _postpone(self, pending: PendingDelivery, reason: str) -> DeliveryResult:
        now = self.clock()
        if pending.attempts >= len(RETRY_DELAYS):
            # Giving up: first learn which parts did reach the channel (the last may have),
            # so that only stories never shown there are released.
            try:
                found, pending = await self._recover_sent_parts(pending, set(pending.sent_parts))
            except (PostRefused, PostFailed) as trouble:
                return await self._unresolved(pending, str(trouble))
            if found:
                pending = replace(pending, sent_parts=pending.sent_parts | found)
            return await self._failed(
                pending, f"gave up after {pending.attempts + 1} tries: {reason}"
            )
        retry_at = now + RETRY_DELAYS[pending.attempts]
        await self.digests.postpone_delivery(pending.id, retry_at, reason)
        log.warning(
            "digest delivery to channel %s will be retried at %s: %s",
            pending.channel_id,
            retry_at.isoformat(),
            reason,
        )
        return DeliveryResult(pending.channel_id, Outcome.RETRYING, reason=reason)

    async def _unresolved(self, pending: PendingDelivery, reason: str) -> DeliveryResult:
        """The channel could not be read to see which parts of ``pending`` reached it: keep it
        pending (its stories stay held back, nothing is sent twice), try again later, and tell
        the admins why the digest is stuck."""
        reason = f"cannot check what reached the channel ({reason})"
        retry_at = self.clock() + RETRY_DELAYS[min(pending.attempts, len(RETRY_DELAYS) - 1)]
        await self.digests.postpone_delivery(pending.id, retry_at, reason)
        log.warning("digest delivery to channel %s is unresolved: %s", pending.channel_id, reason)
        await self._mark_failing(pending.channel_id, reason)
        return DeliveryResult(pending.channel_id, Outcome.RETRYING, reason=reason)

    async def _tell_admins(self, digest: Digest, reason: str) -> None:
        """Tell the server's admins once, where they last used /digest (or the system channel)."""
        target_id = digest.notify_channel_id
        if target_id is None or target_id == digest.channel_id:
            target_id = self.channels.system_channel_id(digest.guild_id)
        if target_id is None:
            log.warning("no channel to tell the admins of %s about the failure", digest.guild_id)
            return
        text = (
            f"⚠️ The AI news digest for <#{digest.channel_id}> could not be delivered: {reason}. "
            "`/digest list` shows its status; it will try again at its next scheduled time."
        )
        try:
            await self.pacer.wait()
            await self.channels.send(target_id, digest.guild_id, content=text)
        except (PostRefused, PostFailed) as error:
            log.warning("could not tell the admins of %s: %s", digest.guild_id, error)
            return
        await self.digests.mark_failure_notified(digest.channel_id)


def _marked(message: PostedMessage, marker: str) -> bool:
    """Whether ``message`` is a part of the delivery with ``marker``."""
    mark = find_marker(message.content)
    return mark is not None and mark[0] == marker
