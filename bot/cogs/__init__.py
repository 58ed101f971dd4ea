"""The bot's features, one extension each (loaded by :class:`bot.app.NewsBot`)."""
