"""Canonical article URLs and the stable article id derived from them."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048

#: Query parameters that only track the click; they never change which article a URL names.
TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "mc_cid", "mc_eid", "igshid", "_ga", "_gl"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_web_url(value: str) -> bool:
    """True for an absolute http(s) URL with a host: the only URLs we store or send to Discord."""
    if len(value) > MAX_URL_LENGTH or any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)


def canonical_url(url: str) -> str:
    """The form of ``url`` that identifies an article.

    Lower-case scheme and host, no default port, no fragment, tracking parameters (``utm_*``,
    ``fbclid``, ``gclid`` and friends) dropped; path and the remaining query kept as written.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{parts.port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMETERS
    ]
    return urlunsplit((scheme, host, parts.path or "/", urlencode(query), ""))


def article_id_for(url: str) -> str:
    """A stable, short id for the article at ``url`` (tracking parameters, fragment and host case do not change it)."""
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()[:16]
