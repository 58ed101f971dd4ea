"""The ``topic`` option of /news and /digest subscribe: one transformer for both.

``transform`` turns what the member typed into a known topic, or answers privately with the
closest ones; ``autocomplete`` offers at most 25 topics, busiest first, with article counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from ainews.store.catalog import TopicStats
from ainews.topic_matching import suggest_topics
from ainews.tree import UserFacingError

if TYPE_CHECKING:
    from ainews.app import NewsBot


class TopicOption(app_commands.Transformer["NewsBot"]):
    async def transform(
        self, interaction: discord.Interaction[NewsBot], value: str, /
    ) -> TopicStats:
        catalog = interaction.client.catalog
        found: TopicStats | None = await catalog.topic(value)
        if found is not None:
            return found
        close = suggest_topics(await catalog.topics(), value, 5)
        hint = f" Did you mean: {', '.join(t.name for t in close)}?" if close else ""
        shown = discord.utils.escape_markdown(value.strip()[:100])
        raise UserFacingError(f"There is no topic “{shown}”.{hint} /topics lists them all.")

    async def autocomplete(  # type: ignore[override]
        self, interaction: discord.Interaction[NewsBot], value: str, /
    ) -> list[app_commands.Choice[str]]:
        topics = suggest_topics(await interaction.client.catalog.topics(), value)
        return [
            app_commands.Choice(name=f"{t.name} ({t.article_count})"[:100], value=t.name[:100])
            for t in topics
        ]


#: The annotation of a topic option: the command receives a :class:`TopicStats`.
Topic = app_commands.Transform[TopicStats, TopicOption]
