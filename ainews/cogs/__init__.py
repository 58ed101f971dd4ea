"""The bot's features, one extension each (loaded by :class:`ainews.app.NewsBot`)."""
