"""Forum channels, forum posts and threads (archived, locked), as discord.py meets them."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord.http import Route

from discord_sandbox import ChannelType, Permission, Sandbox, run_client
from discord_sandbox.state import ForumTag

NO_PINGS = discord.AllowedMentions.none()
EVERYTHING_BUT_MANAGE_THREADS = Permission.everyone_default() | Permission.MANAGE_MESSAGES


async def _raw(bot, method: str, path: str, body: dict[str, Any] | None = None, **ids: int) -> Any:
    return await bot.http.request(Route(method, path, **ids), json=body)


async def test_a_forum_post_with_tags_then_more_parts_in_it(sandbox: Sandbox, world, bot) -> None:
    forum = sandbox.create_forum(world.guild, "digests", tags=["llm", "chips"], require_tag=True)
    async with run_client(sandbox, bot):
        channel = bot.get_channel(forum.id)
        assert isinstance(channel, discord.ForumChannel)
        assert [tag.name for tag in channel.available_tags] == ["llm", "chips"]
        assert channel.flags.require_tag
        llm = channel.get_tag(forum.tag("llm").id)
        created = await channel.create_thread(
            name="LLM digest",
            content="Part 1",
            embed=discord.Embed(title="A model", url="https://example.com/m"),
            applied_tags=[llm],
            allowed_mentions=NO_PINGS,
        )
        assert created.thread.id == created.message.id  # the starter shares the post's id
        assert [tag.name for tag in created.thread.applied_tags] == ["llm"]
        joined = await bot.wait_for("thread_create", timeout=2)  # THREAD_CREATE reached the cache
        await created.thread.send("Part 2", allowed_mentions=NO_PINGS)
        history = [message.content async for message in created.thread.history()]
    assert joined.id == created.thread.id and joined.parent_id == forum.id
    assert history == ["Part 2", "Part 1"]
    [post] = sandbox.forum_posts(forum)
    assert post.name == "LLM digest" and post.type is ChannelType.PUBLIC_THREAD
    assert post.applied_tags == [forum.tag("llm").id]
    assert [m.content for m in sandbox.channel_messages(post)] == ["Part 1", "Part 2"]
    assert sandbox.channel_messages(post)[0].id == post.id
    assert sandbox.channel_messages(post)[0].embeds[0]["title"] == "A model"


async def test_a_forum_that_requires_a_tag_refuses_a_post_without_one(
    sandbox: Sandbox, world, bot
) -> None:
    forum = sandbox.create_forum(world.guild, "digests", tags=["llm"], require_tag=True)
    async with run_client(sandbox, bot):
        with pytest.raises(discord.HTTPException) as refused:
            await bot.get_channel(forum.id).create_thread(name="No tag", content="Part 1")
    assert refused.value.status == 400 and refused.value.code == 40067
    assert sandbox.forum_posts(forum) == []


BAD_POSTS: dict[str, tuple[dict[str, Any], int, str]] = {
    "no name": ({"message": {"content": "x"}}, 50035, "In name"),
    "name over 100": ({"name": "n" * 101, "message": {"content": "x"}}, 50035, "In name"),
    "no message": ({"name": "post"}, 50035, "In message"),
    "empty message": ({"name": "post", "message": {}}, 50006, "empty"),
    "content over 2000": (
        {"name": "post", "message": {"content": "c" * 2001}},
        50035,
        "In message.content",
    ),
    "six tags": (
        {"name": "post", "message": {"content": "x"}, "applied_tags": "six"},
        50035,
        "In applied_tags",
    ),
    "an unknown tag": (
        {"name": "post", "message": {"content": "x"}, "applied_tags": ["12345"]},
        10087,
        "Unknown Tag",
    ),
    "a moderated tag": (
        {"name": "post", "message": {"content": "x"}, "applied_tags": "mod"},
        50013,
        "",
    ),
}


@pytest.mark.parametrize("body, code, text", BAD_POSTS.values(), ids=BAD_POSTS.keys())
async def test_a_bad_forum_post_is_refused(
    sandbox: Sandbox, world, bot, body: dict[str, Any], code: int, text: str
) -> None:
    tags = [f"t{n}" for n in range(6)]
    forum = sandbox.create_forum(world.guild, "digests", tags=[*tags, ForumTag(0, "mod", True)])
    if body.get("applied_tags") == "six":
        body = body | {"applied_tags": [str(forum.tag(name).id) for name in tags]}
    if body.get("applied_tags") == "mod":
        body = body | {"applied_tags": [str(forum.tag("mod").id)]}
    async with run_client(sandbox, bot):
        with pytest.raises(discord.HTTPException) as refused:
            await _raw(bot, "POST", "/channels/{channel_id}/threads", body, channel_id=forum.id)
    assert refused.value.code == code and text in refused.value.text
    assert sandbox.forum_posts(forum) == []


async def test_a_forum_takes_no_plain_messages(sandbox: Sandbox, world, bot) -> None:
    forum = sandbox.create_forum(world.guild, "digests")
    async with run_client(sandbox, bot):
        with pytest.raises(discord.HTTPException) as refused:
            body = {"content": "hi"}
            await _raw(bot, "POST", "/channels/{channel_id}/messages", body, channel_id=forum.id)
    assert refused.value.status == 400 and refused.value.code == 40058


async def test_a_forum_post_needs_send_messages(sandbox: Sandbox, world, bot) -> None:
    read_only = Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY
    forum = sandbox.create_forum(world.guild, "digests", bot_permissions=read_only)
    async with run_client(sandbox, bot):
        with pytest.raises(discord.Forbidden) as refused:
            await bot.get_channel(forum.id).create_thread(name="post", content="x")
    assert refused.value.code == 50013


async def test_active_threads_are_in_guild_create_and_archived_ones_are_listed(
    sandbox: Sandbox, world, bot
) -> None:
    forum = sandbox.create_forum(world.guild, "digests", tags=["llm"])
    post = sandbox.create_thread(forum, "Old post", tags=["llm"], starter="Part 1")
    talk = sandbox.create_thread(world.news, "Talk")
    old = sandbox.create_thread(world.news, "Old talk", archived=True)
    async with run_client(sandbox, bot):
        cached = bot.get_channel(post.id)
        assert isinstance(cached, discord.Thread) and cached.parent_id == forum.id
        assert [tag.name for tag in cached.applied_tags] == ["llm"]
        assert isinstance(bot.get_channel(talk.id), discord.Thread)
        assert bot.get_channel(old.id) is None  # archived threads are not synced up front
        active = await bot.get_guild(world.guild.id).active_threads()
        news = bot.get_channel(world.news.id)
        archived = [thread async for thread in news.archived_threads()]
        fetched = await bot.fetch_channel(old.id)
    assert {thread.id for thread in active} == {post.id, talk.id}
    assert [thread.id for thread in archived] == [old.id]
    assert isinstance(fetched, discord.Thread) and fetched.archived


async def test_a_post_unarchives_an_archived_thread(sandbox: Sandbox, world, bot) -> None:
    thread = sandbox.create_thread(world.news, "Weekly", archived=True)
    async with run_client(sandbox, bot):
        fetched = await bot.fetch_channel(thread.id)
        await fetched.send("This week", allowed_mentions=NO_PINGS)
        joined = await bot.wait_for("thread_join", timeout=2)  # THREAD_UPDATE, unarchived
    assert not thread.archived and not joined.archived
    assert [m.content for m in sandbox.channel_messages(thread)] == ["This week"]


async def test_a_locked_thread_needs_manage_threads(sandbox: Sandbox, world, bot) -> None:
    sandbox.set_bot_permissions(world.news, EVERYTHING_BUT_MANAGE_THREADS)
    locked = sandbox.create_thread(world.news, "Locked", locked=True)
    closed = sandbox.create_thread(world.news, "Closed", locked=True, archived=True)
    async with run_client(sandbox, bot):
        thread = bot.get_channel(locked.id)
        with pytest.raises(discord.HTTPException) as refused:
            await thread.send("hi")
        gone = await bot.fetch_channel(closed.id)
        with pytest.raises(discord.Forbidden) as not_reopened:
            await gone.edit(archived=False)
        sandbox.set_bot_permissions(
            world.news, EVERYTHING_BUT_MANAGE_THREADS | Permission.MANAGE_THREADS
        )
        await thread.send("as a moderator")
        await gone.send("reopened by a moderator")
    assert refused.value.status == 400 and refused.value.code == 50083
    assert not_reopened.value.code == 50013
    assert [m.content for m in sandbox.channel_messages(locked)] == ["as a moderator"]
    assert not closed.archived and closed.locked


async def test_posting_in_a_thread_needs_send_messages_in_threads(
    sandbox: Sandbox, world, bot
) -> None:
    sandbox.set_bot_permissions(
        world.news, Permission.everyone_default() & ~Permission.SEND_MESSAGES_IN_THREADS
    )
    thread = sandbox.create_thread(world.news, "Talk")
    async with run_client(sandbox, bot):
        with pytest.raises(discord.Forbidden) as refused:
            await bot.get_channel(thread.id).send("hi")
        await bot.get_channel(world.news.id).send("the channel itself is fine")
    assert refused.value.code == 50013


async def test_unarchiving_and_archiving_through_edit(sandbox: Sandbox, world, bot) -> None:
    thread = sandbox.create_thread(world.news, "Weekly", archived=True)
    async with run_client(sandbox, bot):
        fetched = await bot.fetch_channel(thread.id)
        with pytest.raises(discord.HTTPException) as renamed_while_archived:
            await fetched.edit(name="Renamed")
        reopened = await fetched.edit(archived=False)
        with pytest.raises(discord.Forbidden) as not_creator:
            await reopened.edit(name="Renamed")  # the owner started it; no Manage Threads
    assert renamed_while_archived.value.code == 50083
    assert not reopened.archived and not thread.archived
    assert not_creator.value.code == 50013


async def test_an_edit_in_an_archived_thread_is_refused(sandbox: Sandbox, world, bot) -> None:
    thread = sandbox.create_thread(world.news, "Weekly")
    async with run_client(sandbox, bot):
        sent = await bot.get_channel(thread.id).send("draft")
        sandbox.update_thread(thread, archived=True)
        await bot.wait_for("thread_update", timeout=2)
        with pytest.raises(discord.HTTPException) as refused:
            await sent.edit(content="final")
    assert refused.value.code == 50083


async def test_a_thread_without_a_starter_message_and_its_deletion(
    sandbox: Sandbox, world, bot
) -> None:
    async with run_client(sandbox, bot):
        news = bot.get_channel(world.news.id)
        thread = await news.create_thread(name="Side talk", type=discord.ChannelType.public_thread)
        await bot.wait_for("thread_create", timeout=2)
        [stored] = sandbox.threads(world.news)
        sandbox.delete_channel(stored)
        deleted = await bot.wait_for("thread_delete", timeout=2)
        with pytest.raises(discord.NotFound):
            await thread.send("hi")
    assert stored.owner_id == sandbox.bot_user.id and stored.messages == []
    assert deleted.id == thread.id and bot.get_channel(thread.id) is None
