"""Small named values the bot keeps between runs (e.g. the last synced command definitions)."""

from __future__ import annotations

from ainews.store.database import Database


class BotState:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def get(self, key: str) -> str | None:
        value = await self.database.fetchval("SELECT value FROM bot_state WHERE key = ?", (key,))
        return str(value) if value is not None else None

    async def set(self, key: str, value: str) -> None:
        async with self.database.transaction() as db:
            await db.execute(
                "INSERT INTO bot_state (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
