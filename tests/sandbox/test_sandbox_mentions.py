"""Roles, pings and allowed_mentions: who a message notifies, and bodies that could ping more."""

from __future__ import annotations

from typing import Any

import discord
import pytest
from discord.http import Route

from discord_sandbox import Permission, Sandbox, run_client
from discord_sandbox.mentions import Mentions
from discord_sandbox.pytest_plugin import raise_for_problems


async def _post(bot, channel_id: int, body: dict[str, Any]) -> Any:
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
    return await bot.http.request(route, json=body)


def _roles(*roles) -> Mentions:
    return Mentions(roles=frozenset(role.id for role in roles))


async def test_a_role_pings_only_when_mentionable_or_the_bot_may_mention_everyone(
    sandbox: Sandbox, world, bot
) -> None:
    quiet = sandbox.create_role(world.guild, "llm-fans")
    loud = sandbox.create_role(world.guild, "chip-fans", mentionable=True)
    sandbox.expect_pings(quiet, loud)
    text = f"<@&{quiet.id}> <@&{loud.id}> new digest"
    roles_only = discord.AllowedMentions(everyone=False, users=False, roles=True)
    async with run_client(sandbox, bot):
        channel = bot.get_channel(world.news.id)
        first = await channel.send(text, allowed_mentions=roles_only)
        moderator = sandbox.create_role(
            world.guild, "moderator", permissions=Permission.MENTION_EVERYONE
        )
        sandbox.give_role(world.guild.bot_member, moderator)
        second = await channel.send(text, allowed_mentions=roles_only)
        only_loud = discord.AllowedMentions(roles=[discord.Object(loud.id)])
        third = await channel.send(text, allowed_mentions=only_loud)
    shown = sandbox.channel_messages(world.news)
    assert shown[0].pinged == _roles(loud)  # the unmentionable role is not pinged
    assert shown[1].pinged == _roles(quiet, loud)  # Mention Everyone pings any role
    assert shown[2].pinged == _roles(loud)  # allowed_mentions still filters
    assert [role.id for role in first.role_mentions] == [loud.id]  # discord.py reads mention_roles
    assert {role.id for role in second.role_mentions} == {quiet.id, loud.id}
    assert [role.id for role in third.role_mentions] == [loud.id]
    assert sandbox.pinged() == shown
    assert sandbox.counters.mention_violations == []


async def test_roles_reach_the_client_cache(sandbox: Sandbox, world, bot) -> None:
    before = sandbox.create_role(world.guild, "early", mentionable=True)
    async with run_client(sandbox, bot):
        guild = bot.get_guild(world.guild.id)
        assert guild.get_role(before.id).mentionable
        late = sandbox.create_role(world.guild, "late")
        sandbox.set_role_mentionable(late, True)
        sandbox.give_role(world.guild.bot_member, late)
        await bot.wait_for("member_update", timeout=2)  # sent for the bot whatever its intents
        assert late.id in [role.id for role in guild.me.roles]
        assert guild.get_role(late.id).mentionable


async def test_a_channel_override_decides_mention_everyone(sandbox: Sandbox, world, bot) -> None:
    loud = sandbox.create_channel(
        world.guild,
        "loud",
        bot_permissions=Permission.everyone_default() | Permission.MENTION_EVERYONE,
    )
    sandbox.expect_pings(everyone=True)
    async with run_client(sandbox, bot):
        here = discord.AllowedMentions(everyone=True)
        await bot.get_channel(world.news.id).send("@everyone news", allowed_mentions=here)
        await bot.get_channel(loud.id).send("@here news", allowed_mentions=here)
    assert not sandbox.channel_messages(world.news)[0].pinged.everyone
    assert sandbox.channel_messages(loud)[0].pinged.everyone


async def test_users_ping_when_allowed(sandbox: Sandbox, world, bot) -> None:
    sandbox.expect_pings(world.reader)
    async with run_client(sandbox, bot):
        channel = bot.get_channel(world.news.id)
        sent = await channel.send(
            f"<@{world.reader.id}> and <@!{world.admin.id}>",
            allowed_mentions=discord.AllowedMentions(users=[discord.Object(world.reader.id)]),
        )
    assert sandbox.channel_messages(world.news)[0].pinged == Mentions(
        users=frozenset({world.reader.id})
    )
    assert [user.id for user in sent.mentions] == [world.reader.id]


async def test_no_allowed_mentions_lets_everything_ping_and_is_a_violation(
    sandbox: Sandbox, world, bot
) -> None:
    quiet = sandbox.create_role(world.guild, "llm-fans")  # not mentionable
    async with run_client(sandbox, bot):
        channel = bot.get_channel(world.news.id)
        await channel.send(f"<@&{quiet.id}> @everyone <@{world.reader.id}> a title")
        none = discord.AllowedMentions.none()
        await channel.send(f"<@&{quiet.id}> a title", allowed_mentions=none)
        await channel.send("no mentions at all")
    first = sandbox.channel_messages(world.news)[0]
    # Only the reader was notified (a role that is not mentionable and @everyone without
    # Mention Everyone do not ping), but the body let all three ping: one violation.
    assert first.pinged == Mentions(users=frozenset({world.reader.id}))
    [violation] = sandbox.counters.mention_violations
    assert violation.message is first
    assert violation.unexpected == Mentions(
        frozenset({world.reader.id}), frozenset({quiet.id}), everyone=True
    )
    assert "@everyone" in str(violation)
    sandbox.counters.mention_violations.clear()  # provoked on purpose


async def test_an_expected_ping_is_not_a_violation_but_an_extra_one_is(
    sandbox: Sandbox, world, bot
) -> None:
    llm = sandbox.create_role(world.guild, "llm", mentionable=True)
    chips = sandbox.create_role(world.guild, "chips", mentionable=True)
    sandbox.expect_pings(llm)
    async with run_client(sandbox, bot):
        channel = bot.get_channel(world.news.id)
        await channel.send(f"<@&{llm.id}> digest")
        await channel.send(f"<@&{llm.id}> <@&{chips.id}> digest")
    [violation] = sandbox.counters.mention_violations
    assert violation.unexpected == _roles(chips)
    sandbox.counters.mention_violations.clear()


async def test_an_interaction_reply_is_checked_too(sandbox: Sandbox, world, bot) -> None:
    chips = sandbox.create_role(world.guild, "chips", mentionable=True)
    async with run_client(sandbox, bot):
        guild = discord.Object(world.guild.id)
        bot.tree.copy_global_to(guild=guild)
        await bot.tree.sync(guild=guild)
        result = await sandbox.invoke(
            "echo", member=world.reader, channel=world.news, options={"text": f"<@&{chips.id}>"}
        )
    assert result.original is not None and result.original.pinged == _roles(chips)
    assert [v.message for v in sandbox.counters.mention_violations] == [result.original]
    sandbox.counters.mention_violations.clear()


BAD_ALLOWED_MENTIONS = {
    "parse roles and a roles list": ({"parse": ["roles"], "roles": ["1"]}, "roles"),
    "parse users and a users list": ({"parse": ["users"], "users": ["1"]}, "users"),
}


@pytest.mark.parametrize(
    "allowed, kind", BAD_ALLOWED_MENTIONS.values(), ids=BAD_ALLOWED_MENTIONS.keys()
)
async def test_parse_and_a_list_of_the_same_kind_are_refused(
    sandbox: Sandbox, world, bot, allowed: dict[str, Any], kind: str
) -> None:
    async with run_client(sandbox, bot):
        with pytest.raises(discord.HTTPException) as refused:
            await _post(bot, world.news.id, {"content": "hi", "allowed_mentions": allowed})
    assert refused.value.status == 400 and refused.value.code == 50035
    assert f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.' in refused.value.text
    assert sandbox.channel_messages(world.news) == []


async def test_an_unknown_parse_kind_is_refused(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        with pytest.raises(discord.HTTPException) as refused:
            body = {"content": "hi", "allowed_mentions": {"parse": ["channels"]}}
            await _post(bot, world.news.id, body)
    assert refused.value.code == 50035 and "allowed_mentions.parse.0" in refused.value.text


async def test_a_violation_fails_the_fixture_check(sandbox: Sandbox, world, bot) -> None:
    async with run_client(sandbox, bot):
        await bot.get_channel(world.news.id).send("@here the digest")
    with pytest.raises(AssertionError, match="lets @everyone ping"):
        raise_for_problems(sandbox)
    sandbox.counters.mention_violations.clear()
    raise_for_problems(sandbox)  # what the fixture runs after the test: now clean
