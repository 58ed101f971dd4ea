"""AI news for Discord: a curated Markdown corpus served as slash commands and topic digests."""

__version__ = "0.1.0"
