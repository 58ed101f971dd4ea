"""A channel digest's filters: which articles it may post (pure, no Discord, no store).

``include`` and ``exclude`` are words or quoted phrases, matched case- and accent-insensitively
on whole words of the title and excerpt: an article passes when it matches any ``include`` term
(if there are any) and no ``exclude`` term, is not from an excluded provider (a domain, its
subdomains included, matched on the provider's domain and on the article's host) and has at
least ``min_quality`` (an article without a quality passes).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from ainews.corpus.article import Article

MAX_TERMS = 25
MAX_TERM_CHARS = 100
_WORD = re.compile(r"\w+")
#: A quoted phrase (straight or curly quotes), or a run of anything but commas and quotes.
_TERM = re.compile(r'"([^"]*)"|“([^”]*)”|([^,"“”]+)')
_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}")


class FilterError(ValueError):
    """A filter value that is not accepted; the message says what is."""


Term = tuple[str, ...]  #: the normalised words of a word or phrase


@dataclass(frozen=True, slots=True)
class DigestFilter:
    include: tuple[Term, ...] = ()
    exclude: tuple[Term, ...] = ()
    providers_excluded: tuple[str, ...] = ()
    min_quality: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.include or self.exclude or self.providers_excluded) or (
            self.min_quality is not None
        )

    def passes(self, article: Article) -> bool:
        quality, least = article.quality, self.min_quality
        if least is not None and quality is not None and quality < least:
            return False
        if self.providers_excluded and _from_excluded_provider(article, self.providers_excluded):
            return False
        if self.include or self.exclude:
            words = words_of(f"{article.title} {article.excerpt}")
            if self.include and not any(_contains(words, term) for term in self.include):
                return False
            if any(_contains(words, term) for term in self.exclude):
                return False
        return True

    def describe(self) -> str:
        """One line for /digest list and preview; "no filters" when there are none."""
        parts = []
        if self.include:
            parts.append(f"include {format_terms(self.include)}")
        if self.exclude:
            parts.append(f"exclude {format_terms(self.exclude)}")
        if self.providers_excluded:
            parts.append(f"not from {', '.join(self.providers_excluded)}")
        if self.min_quality is not None:
            parts.append(f"quality at least {self.min_quality}")
        return "; ".join(parts) if parts else "no filters"


def words_of(text: str) -> tuple[str, ...]:
    """The words of ``text``, case-folded and without accents ("Café" and "cafe" are one)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return tuple(_WORD.findall(bare))


def parse_terms(value: str) -> tuple[Term, ...]:
    """Comma-separated words or quoted phrases (``gpu, "open source"``) as normalised terms;
    empty ones are skipped, and an unclosed quote is read as words."""
    terms: list[Term] = []
    for match in _TERM.finditer(value):
        raw = next(group for group in match.groups() if group is not None)
        if len(raw) > MAX_TERM_CHARS:
            raise FilterError(f"a term is at most {MAX_TERM_CHARS} characters")
        words = words_of(raw)
        if words and words not in terms:
            terms.append(words)
    if len(terms) > MAX_TERMS:
        raise FilterError(f"at most {MAX_TERMS} terms")
    return tuple(terms)


def format_terms(terms: tuple[Term, ...]) -> str:
    return ", ".join(f'"{" ".join(term)}"' if len(term) > 1 else term[0] for term in terms)


def parse_domains(value: str) -> tuple[str, ...]:
    """Comma- or space-separated domains (``example.com, news.example.org``), lower-cased."""
    domains: list[str] = []
    for item in re.split(r"[,\s]+", value.strip().lower()):
        if not item:
            continue
        domain = item.removeprefix("https://").removeprefix("http://").split("/")[0]
        domain = domain.removeprefix("www.")
        if not _DOMAIN.fullmatch(domain):
            raise FilterError(f"“{item[:60]}” is not a domain such as example.com")
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_TERMS:
        raise FilterError(f"at most {MAX_TERMS} domains")
    return tuple(domains)


def _contains(words: tuple[str, ...], term: Term) -> bool:
    size = len(term)
    return any(words[start : start + size] == term for start in range(len(words) - size + 1))


def _from_excluded_provider(article: Article, excluded: tuple[str, ...]) -> bool:
    hosts = [(urlsplit(article.url).hostname or "").lower()]
    if article.provider is not None and article.provider.domain:
        hosts.append(article.provider.domain.lower())
    return any(
        host == domain or host.endswith(f".{domain}") for host in hosts for domain in excluded
    )
