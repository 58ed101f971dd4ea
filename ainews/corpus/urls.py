"""Canonical article URLs and the stable article id derived from them."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_URL_LENGTH = 2048

#: Query parameters that never change which article a URL names: click tracking, and the
#: ``_escaped_fragment_`` of old AJAX crawling that curation tools copy along.
TRACKING_PARAMETERS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "_ga",
        "_gl",
        "_escaped_fragment_",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: scheme://host[:port] then an optional path, query, fragment; no white space anywhere.
_WEB_URL = re.compile(
    r"(?i)https?://(?:[^/\s\x00-\x1f\x7f?#@]*@)?[^/\s\x00-\x1f\x7f?#:@][^/\s\x00-\x1f\x7f?#@]*"
    r"(?:[/?#][^\s\x00-\x1f\x7f\ud800-\udfff]*)?"
)
#: Already canonical: lower-case scheme and host, no port, no query, no fragment.
_PLAIN_CANONICAL = re.compile(r"https?://[a-z0-9.-]+/[^\s?#]*")
#: The URLs curators' tools write, checked first: already canonical, in printable ASCII without
#: spaces. It matches a subset of both expressions above, and is four times as fast to try (an
#: ASCII class, not ``\s``): ingest checks and keys about nine URLs in every file.
_PLAIN_ASCII = re.compile(r'https?://[a-z0-9.-]+/[!-"$->@-~]*')


def is_web_url(value: str) -> bool:
    """True for an absolute http(s) URL with a host: the only URLs we store or send to Discord."""
    if len(value) > MAX_URL_LENGTH:
        return False
    if _PLAIN_ASCII.fullmatch(value):
        return True
    if _WEB_URL.fullmatch(value) is None:
        return False
    if _PLAIN_CANONICAL.fullmatch(value):
        return True
    try:  # a port outside 0-65535 or a malformed [IPv6] host would fail canonical_url later
        urlsplit(value).port  # noqa: B018
    except ValueError:
        return False
    return True


def canonical_url(url: str) -> str:
    """The form of ``url`` that identifies an article.

    Lower-case scheme and host, no default port, no fragment, tracking parameters (``utm_*``,
    ``fbclid``, ``gclid`` and friends) dropped; path and the remaining query kept as written.
    """
    url = url.strip()
    if _PLAIN_ASCII.fullmatch(url) or _PLAIN_CANONICAL.fullmatch(url):
        return url
    parts = urlsplit(url)
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
    """A stable, short id for the article at ``url``, from its canonical form."""
    return hashlib.sha256(canonical_url(url).encode()).hexdigest()[:16]


def url_key(url: str) -> int:
    """A 64-bit key for the canonical form of ``url``, for compact URL indexes in the store."""
    digest = hashlib.blake2b(canonical_url(url).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
