"""Digest delivery on its own: a real database with the sample corpus, and a stand-in for the
three Discord calls (no sandbox). Exactly once across crashes, refusals and Discord failures."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from ainews.clock import utc_now
from ainews.delivery import (
    RETRY_DELAYS,
    DigestDeliverer,
    Outcome,
    PostedMessage,
    PostFailed,
    PostRefused,
)
from ainews.digest import find_marker
from ainews.ingest import ingest_corpus
from ainews.pacing import Pacer
from ainews.posting_locks import PostingLocks
from ainews.schedule import Schedule
from ainews.settings import SAMPLE_CORPUS
from ainews.sharding import Shards, shard_of
from ainews.store.articles import ArticleRepository
from ainews.store.catalog import NewsCatalog
from ainews.store.database import Database
from ainews.store.digests import DigestRepository
from ainews.store.processes import ProcessRegistry
from tests.helpers import SettableClock

GUILD, NEWS, ADMINS, SYSTEM = 1, 10, 20, 30
NINE_UTC = Schedule(time(9, 0), "UTC", frozenset(range(7)))


@dataclass
class Sent:
    channel_id: int
    content: str
    embeds: list[discord.Embed]
    nonce: str | None
    id: int


@dataclass
class RecordingChannels:
    """Discord as delivery sees it: messages land in ``sent``; a channel in ``refuse`` refuses
    with that reason, ``fail`` makes every send fail; ``lose_answer`` posts the message but
    raises as a lost reply would."""

    sent: list[Sent] = field(default_factory=list)
    refuse: dict[int, str] = field(default_factory=dict)
    fail: str | None = None
    lose_answer: bool = False
    edits: list[tuple[int, list[discord.Embed]]] = field(default_factory=list)

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
        if channel_id in self.refuse:
            raise PostRefused(self.refuse[channel_id])
        if self.fail is not None:
            raise PostFailed(self.fail)
        message = Sent(channel_id, content, list(embeds), nonce, 1_000 + len(self.sent))
        self.sent.append(message)
        if self.lose_answer:
            raise PostFailed("the connection dropped before Discord answered")
        return message.id

    def history_mark(self) -> int:
        return 1_000 + len(self.sent) - 1  # message ids count up from 1,000

    async def own_messages(
        self, channel_id: int, guild_id: int | None, *, after: int | None
    ) -> list[PostedMessage]:
        if channel_id in self.refuse:
            raise PostRefused(self.refuse[channel_id])
        mine = [m for m in self.sent if m.channel_id == channel_id]
        return [PostedMessage(m.id, m.content) for m in mine if after is None or m.id > after]

    async def check_can_post(self, channel_id: int, guild_id: int | None) -> None:
        if channel_id in self.refuse:
            raise PostRefused(self.refuse[channel_id])

    def system_channel_id(self, guild_id: int) -> int | None:
        return SYSTEM

    async def edit(
        self,
        channel_id: int,
        guild_id: int | None,
        message_id: int,
        *,
        embeds: Sequence[discord.Embed],
    ) -> None:
        if channel_id in self.refuse:  # an edit refused: the message is gone (a 404)
            raise PostRefused(self.refuse[channel_id], gone=True)
        if self.fail is not None:
            raise PostFailed(self.fail)
        self.edits.append((message_id, list(embeds)))

    def in_channel(self, channel_id: int) -> list[Sent]:
        return [m for m in self.sent if m.channel_id == channel_id]


@dataclass
class Delivery:
    deliverer: DigestDeliverer
    digests: DigestRepository
    channels: RecordingChannels
    clock: SettableClock
    database: Database
    corpus: Path

    async def rescan(self) -> None:
        await ingest_corpus(ArticleRepository(self.database), self.corpus)


def make_deliverer(
    database: Database, channels: RecordingChannels, clock: SettableClock, **options: Any
) -> DigestDeliverer:
    """A deliverer on ``database``, as one process has it (its own posting locks), pacing far
    above Discord's limit; ``options``: ``shards``, ``process_id``."""
    return DigestDeliverer(
        digests=DigestRepository(database),
        catalog=NewsCatalog(database),
        channels=channels,
        pacer=Pacer(rate=10_000),
        posting_locks=PostingLocks(),
        clock=clock,
        **options,
    )


@pytest.fixture
async def delivery(database: Database, tmp_path: Path) -> AsyncIterator[Delivery]:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_CORPUS, corpus)
    await ingest_corpus(ArticleRepository(database), corpus)
    clock = SettableClock(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))
    channels = RecordingChannels()
    deliverer = make_deliverer(database, channels, clock)
    digests = deliverer.digests
    await digests.subscribe(
        channel_id=NEWS,
        guild_id=GUILD,
        topic_key="large language models",
        schedule=NINE_UTC,
        max_items=3,
        next_run_at=datetime(2027, 2, 1, 9, 0, tzinfo=UTC),
        notify_channel_id=ADMINS,
    )
    yield Delivery(deliverer, digests, channels, clock, database, corpus)


async def ledger_rows(database: Database, channel_id: int) -> list[tuple[int, str]]:
    rows = await database.fetch(
        "SELECT message_id, article_id FROM ledger WHERE channel_id = ? ORDER BY seq",
        (channel_id,),
    )
    return [(row[0], row[1]) for row in rows]


async def test_a_due_digest_is_sent_once_with_its_marker_and_recorded(delivery: Delivery) -> None:
    assert await delivery.deliverer.run_due() == []  # 08:00: not due yet
    delivery.clock.set(datetime(2027, 2, 1, 9, 0, 5, tzinfo=UTC))

    (result,) = await delivery.deliverer.run_due()

    assert result.outcome is Outcome.SENT and result.articles == 3
    (message,) = delivery.channels.in_channel(NEWS)
    mark = find_marker(message.content)
    assert mark is not None and mark[1:] == (0, 1)
    assert message.nonce == f"{mark[0]}-0"
    assert "3 new articles on Large Language Models" in message.content
    assert len(message.embeds) == 3
    assert [m for m, _ in await ledger_rows(delivery.database, NEWS)] == [message.id] * 3
    digest = await delivery.digests.get(NEWS)
    assert digest is not None and digest.next_run_at == datetime(2027, 2, 2, 9, 0, tzinfo=UTC)
    assert await delivery.deliverer.run_due() == []  # the schedule moved on


async def test_the_next_digest_shows_only_stories_not_yet_posted(delivery: Delivery) -> None:
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    first = await delivery.deliverer.deliver(digest, scheduled=False)
    second = await delivery.deliverer.deliver(digest, scheduled=False)

    assert first.outcome is second.outcome is Outcome.SENT
    titles = [[e.title for e in m.embeds] for m in delivery.channels.in_channel(NEWS)]
    assert len(titles) == 2 and not set(titles[0]) & set(titles[1])
    rows = await ledger_rows(delivery.database, NEWS)
    assert len({article for _, article in rows}) == len(rows) == first.articles + second.articles


async def test_a_lost_answer_is_resolved_from_the_channel_not_sent_again(
    delivery: Delivery,
) -> None:
    """Discord stored the message but the answer was lost: the retry finds the marker."""
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    delivery.channels.lose_answer = True

    postponed = await delivery.deliverer.deliver(digest, scheduled=False)

    assert postponed.outcome is Outcome.RETRYING
    assert await ledger_rows(delivery.database, NEWS) == []  # not known to be sent yet
    delivery.channels.lose_answer = False
    delivery.clock.advance(seconds=RETRY_DELAYS[0].total_seconds())

    (resumed,) = await delivery.deliverer.run_due()

    assert resumed.outcome is Outcome.SENT
    assert len(delivery.channels.in_channel(NEWS)) == 1  # found by its marker, not re-sent
    (message,) = delivery.channels.in_channel(NEWS)
    assert {m for m, _ in await ledger_rows(delivery.database, NEWS)} == {message.id}
    assert await delivery.digests.pending_deliveries() == []


async def test_a_refusal_marks_the_digest_failing_and_tells_the_admins_once(
    delivery: Delivery,
) -> None:
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    delivery.channels.refuse[NEWS] = "the bot is missing a permission there"

    failed = await delivery.deliverer.deliver(digest, scheduled=False)
    again = await delivery.deliverer.deliver(digest, scheduled=False)

    assert failed.outcome is again.outcome is Outcome.FAILED
    assert failed.reason == "the bot is missing a permission there"
    (note,) = delivery.channels.sent  # told once, where the admins last used /digest
    assert note.channel_id == ADMINS
    assert f"<#{NEWS}> could not be delivered: the bot is missing a permission" in note.content
    current = await delivery.digests.get(NEWS)
    assert current is not None and current.status == "failing" and current.failure_notified
    assert await ledger_rows(delivery.database, NEWS) == []


async def test_admins_are_told_in_the_system_channel_when_the_notify_channel_is_the_digest(
    delivery: Delivery,
) -> None:
    await delivery.digests.set_notify_channel(GUILD, NEWS)
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    delivery.channels.refuse[NEWS] = "the channel no longer exists"

    await delivery.deliverer.deliver(digest, scheduled=False)

    assert [m.channel_id for m in delivery.channels.sent] == [SYSTEM]


async def test_a_permission_back_lets_the_next_run_deliver_and_clears_the_failure(
    delivery: Delivery,
) -> None:
    delivery.clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    delivery.channels.refuse[NEWS] = "the bot cannot see that channel"
    (failed,) = await delivery.deliverer.run_due()
    assert failed.outcome is Outcome.FAILED
    assert await delivery.deliverer.run_due() == []  # not retried before the next run

    del delivery.channels.refuse[NEWS]
    delivery.clock.set(datetime(2027, 2, 2, 9, 0, tzinfo=UTC))
    (delivered,) = await delivery.deliverer.run_due()

    assert delivered.outcome is Outcome.SENT
    digest = await delivery.digests.get(NEWS)
    assert digest is not None and digest.status == "active" and digest.failure is None


async def test_discord_failures_are_retried_with_backoff_then_given_up(
    delivery: Delivery,
) -> None:
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    delivery.channels.fail = "Discord did not answer properly (503)"
    outcomes = [(await delivery.deliverer.deliver(digest, scheduled=False)).outcome]
    for delay in RETRY_DELAYS:
        assert await delivery.deliverer.run_due() == []  # not before its retry time
        delivery.clock.advance(seconds=delay.total_seconds() + 1)
        outcomes += [r.outcome for r in await delivery.deliverer.run_due()]

    assert outcomes == [Outcome.RETRYING] * len(RETRY_DELAYS) + [Outcome.FAILED]
    assert delivery.channels.in_channel(NEWS) == []
    assert await delivery.digests.pending_deliveries() == []
    current = await delivery.digests.get(NEWS)
    assert current is not None and current.failure is not None
    assert current.failure.startswith(f"gave up after {len(RETRY_DELAYS) + 1} tries")


async def test_nothing_new_sends_nothing_and_moves_the_schedule_on(delivery: Delivery) -> None:
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    while (await delivery.deliverer.deliver(digest, scheduled=False)).outcome is Outcome.SENT:
        pass
    sent = len(delivery.channels.sent)
    delivery.clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))

    (result,) = await delivery.deliverer.run_due()

    assert result.outcome is Outcome.NOTHING_NEW
    assert len(delivery.channels.sent) == sent
    current = await delivery.digests.get(NEWS)
    assert current is not None
    assert current.next_run_at == datetime(2027, 2, 2, 9, 0, tzinfo=UTC)


async def test_after_stop_accepting_no_delivery_starts(delivery: Delivery) -> None:
    delivery.clock.set(datetime(2027, 2, 1, 9, 0, tzinfo=UTC) + timedelta(minutes=1))
    delivery.deliverer.stop_accepting()

    assert await delivery.deliverer.run_due() == []
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    result = await delivery.deliverer.deliver(digest, scheduled=False)
    assert result.outcome is Outcome.SHUTTING_DOWN
    assert delivery.channels.sent == []
    assert await delivery.deliverer.wait_idle(0.1)


# Cards that change after they were posted ----------------------------------------------------


async def delivered_cards(delivery: Delivery) -> list[discord.Embed]:
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    result = await delivery.deliverer.deliver(digest, scheduled=False)
    assert result.outcome is Outcome.SENT
    (message,) = delivery.channels.in_channel(NEWS)
    return message.embeds


def rewrite(delivery: Delivery, card: discord.Embed, old: str, new: str) -> None:
    """Rewrite the file of the article shown by ``card``, replacing ``old`` with ``new``."""
    for path in delivery.corpus.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        if f'\nwebUrl: "{card.url}"\n' in text:  # its own, not a related item's
            path.write_text(text.replace(old, new, 1), encoding="utf-8")
            return
    raise AssertionError(f"no file for {card.url}")


async def test_a_retitled_article_is_edited_in_its_digest_message(delivery: Delivery) -> None:
    cards = await delivered_cards(delivery)
    titles = [str(card.title) for card in cards]
    (message,) = delivery.channels.in_channel(NEWS)
    rewrite(delivery, cards[1], f'title: "{titles[1]}"', 'title: "A better title"')
    await delivery.rescan()

    assert await delivery.deliverer.edit_changed_cards() == 1

    ((edited_id, embeds),) = delivery.channels.edits
    assert edited_id == message.id
    assert [e.title for e in embeds] == [titles[0], "A better title", titles[2]]
    assert await delivery.deliverer.edit_changed_cards() == 0  # done: nothing queued


async def test_what_a_card_does_not_show_edits_nothing(delivery: Delivery) -> None:
    cards = await delivered_cards(delivery)
    rewrite(delivery, cards[0], "quality:", 'heat: 999\nsecured: "new"\nquality:')
    await delivery.rescan()

    assert await delivery.deliverer.edit_changed_cards() == 0
    assert delivery.channels.edits == []


async def test_a_repointed_file_shows_its_new_article_in_the_message(delivery: Delivery) -> None:
    cards = await delivered_cards(delivery)
    titles = [str(card.title) for card in cards]
    rewrite(delivery, cards[2], "webUrl: ", 'webUrl: "https://syndicated.example.net/copy"\nold: ')
    await delivery.rescan()

    assert await delivery.deliverer.edit_changed_cards() == 1
    ((_, embeds),) = delivery.channels.edits
    assert embeds[2].url == "https://syndicated.example.net/copy"
    assert embeds[2].title == titles[2]


async def test_a_gone_message_is_forgotten_and_old_messages_are_left_alone(
    delivery: Delivery,
) -> None:
    cards = await delivered_cards(delivery)
    titles = [str(card.title) for card in cards]
    delivery.channels.refuse[NEWS] = "the channel no longer exists"
    rewrite(delivery, cards[0], f'title: "{titles[0]}"', 'title: "First rewrite"')
    await delivery.rescan()
    assert await delivery.deliverer.edit_changed_cards() == 0  # refused: forgotten

    del delivery.channels.refuse[NEWS]
    rewrite(delivery, cards[0], 'title: "First rewrite"', 'title: "Second rewrite"')
    await delivery.rescan()
    assert await delivery.deliverer.edit_changed_cards() == 0  # never tried again
    assert delivery.channels.edits == []


async def test_messages_older_than_a_week_keep_their_cards(delivery: Delivery) -> None:
    cards = await delivered_cards(delivery)
    titles = [str(card.title) for card in cards]
    delivery.clock.advance(days=8)
    rewrite(delivery, cards[0], f'title: "{titles[0]}"', 'title: "Late rewrite"')
    await delivery.rescan()

    assert await delivery.deliverer.edit_changed_cards() == 0
    since = delivery.clock() - timedelta(days=7)
    assert await delivery.digests.changed_cards(since, 10) == []  # nothing left waiting either


async def test_card_edits_wait_for_the_next_pass_when_discord_fails(delivery: Delivery) -> None:
    cards = await delivered_cards(delivery)
    titles = [str(card.title) for card in cards]
    rewrite(delivery, cards[0], f'title: "{titles[0]}"', 'title: "Rewritten"')
    await delivery.rescan()
    delivery.channels.fail = "Discord did not answer properly (502)"

    assert await delivery.deliverer.edit_changed_cards() == 0
    delivery.channels.fail = None
    assert await delivery.deliverer.edit_changed_cards() == 1


async def test_two_deliverers_finding_one_run_due_deliver_it_once(
    delivery: Delivery, store_location
) -> None:
    """A process and its restarted self (or two processes of a deployment) on one store: both
    find the digest due and plan it; the one that claims the run sends it, the other nothing."""
    async with await Database.open(store_location) as other_handle:
        other_channels = RecordingChannels()
        other = make_deliverer(other_handle, other_channels, delivery.clock)
        delivery.clock.advance(hours=1)

        results = await asyncio.gather(delivery.deliverer.run_due(), other.run_due())

    outcomes = sorted(result.outcome.value for run in results for result in run)
    assert outcomes == [Outcome.NOTHING_NEW.value, Outcome.SENT.value]
    sent = delivery.channels.in_channel(NEWS) + other_channels.in_channel(NEWS)
    assert len(sent) == 1
    assert len(await ledger_rows(delivery.database, NEWS)) == 3
    (due,) = await delivery.digests.for_guild(GUILD)
    assert due.next_run_at == datetime(2027, 2, 2, 9, 0, tzinfo=UTC)


async def test_a_deliverer_delivers_the_digests_of_its_shards_servers_only(
    delivery: Delivery,
) -> None:
    mine = shard_of(GUILD, 2)
    other_guild = next(
        g for g in range(GUILD, GUILD + (1 << 24), 1 << 22) if shard_of(g, 2) != mine
    )
    other_channel = NEWS + 1
    await delivery.digests.subscribe(
        channel_id=other_channel,
        guild_id=other_guild,
        topic_key="large language models",
        schedule=NINE_UTC,
        max_items=3,
        next_run_at=datetime(2027, 2, 1, 9, 0, tzinfo=UTC),
        notify_channel_id=None,
    )
    sharded = make_deliverer(
        delivery.database, delivery.channels, delivery.clock, shards=Shards(2, (mine,))
    )
    delivery.clock.advance(hours=1)

    results = await sharded.run_due()

    assert [(r.channel_id, r.outcome) for r in results] == [(NEWS, Outcome.SENT)]
    assert delivery.channels.in_channel(other_channel) == []
    (still_due,) = await delivery.digests.due(delivery.clock())
    assert still_due.channel_id == other_channel, "left to the process holding its shard"


async def live_processes(delivery: Delivery, count: int) -> list[ProcessRegistry]:
    """``count`` processes of a deployment on the delivery's store, each with a fresh beat."""
    processes = [ProcessRegistry(delivery.database, "all") for _ in range(count)]
    for process in processes:
        await process.beat(utc_now())
    return processes


async def leave_pending(delivery: Delivery, marker: str, claimed_by: str | None) -> None:
    """The news digest, due an hour later, started (claimed by ``claimed_by``) and left
    pending: nothing of it sent."""
    delivery.clock.advance(hours=1)
    digest = await delivery.digests.get(NEWS)
    assert digest is not None
    plan = await delivery.deliverer.plan(digest)
    started = await delivery.digests.start_delivery(
        channel_id=NEWS,
        guild_id=GUILD,
        marker=marker,
        parts=plan.parts,
        now=delivery.clock(),
        next_run_at=delivery.clock() + timedelta(days=1),
        claimed_by=claimed_by,
    )
    assert started is not None


async def test_a_delivery_a_live_process_sends_is_left_to_it_then_taken_over_when_it_goes(
    delivery: Delivery,
) -> None:
    sender, other = await live_processes(delivery, 2)
    await leave_pending(delivery, "stalled", claimed_by=sender.id)  # claimed, then it stalled
    taking_over = make_deliverer(
        delivery.database, delivery.channels, delivery.clock, process_id=other.id
    )

    assert [(r.channel_id, r.outcome) for r in await taking_over.run_due()] == [
        (NEWS, Outcome.NOTHING_NEW)
    ]
    assert delivery.channels.in_channel(NEWS) == []

    await sender.leave()  # stopped (or died: its heartbeat goes stale)
    (result,) = await taking_over.run_due()

    assert result.outcome is Outcome.SENT
    assert len(delivery.channels.in_channel(NEWS)) == 1


async def test_two_processes_resuming_one_delivery_send_it_once(
    delivery: Delivery, store_location
) -> None:
    first, second = await live_processes(delivery, 2)
    await leave_pending(delivery, "orphan", claimed_by=None)  # its sender died before sending
    async with await Database.open(store_location) as other_handle:
        results = await asyncio.gather(
            make_deliverer(
                delivery.database, delivery.channels, delivery.clock, process_id=first.id
            ).run_due(),
            make_deliverer(
                other_handle, delivery.channels, delivery.clock, process_id=second.id
            ).run_due(),
        )

    assert sorted(r.outcome.value for run in results for r in run) == ["nothing new", "sent"]
    assert len(delivery.channels.in_channel(NEWS)) == 1
