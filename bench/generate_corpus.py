"""Deterministic generator of a large synthetic AI-news corpus for benchmarks.

Every file is a Markdown article with YAML front matter in exactly the style of the
bundled sample corpus (``ainews/sample_corpus``): same key order, double-quoted strings,
2-space indentation and block lists. Text is built with string formatting (no
``yaml.dump``) so that 100,000 files take only seconds.

Usage::

    python bench/generate_corpus.py OUT_DIR [--count 100000] [--seed 42]

Layout: ``OUT_DIR/<year>/<provider-slug>/<16-hex-id>.md`` (7 years x 40 providers,
a few hundred directories). The same ``count`` and ``seed`` always give byte-identical
files. All URLs use example.com / example.org / example.net hosts; ``cdnAmpWebUrl`` is
the AMP-cache alias of ``ampWebUrl`` (``*.cdn.ampproject.org``), as in the real data.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import itertools
import random
import re
import string
import sys
import time
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["generate_corpus", "main", "rewrite_articles"]

# --------------------------------------------------------------------------- vocabulary

# ~60 topic names, most common first; weights follow a Zipf-like law (1 / rank**1.1).
TOPICS: tuple[str, ...] = (
    "AI",
    "Machine Learning",
    "Generative AI",
    "Large Language Models",
    "AI Research",
    "AI Ethics",
    "AI Policy",
    "AI Hardware",
    "Robotics",
    "Computer Vision",
    "Healthcare AI",
    "Autonomous Vehicles",
    "Microsoft AI",
    "Natural Language Processing",
    "Deep Learning",
    "AI Startups",
    "Cloud AI",
    "AI Chips",
    "AI Safety",
    "Data Science",
    "Edge AI",
    "Speech Recognition",
    "AI in Finance",
    "AI Regulation",
    "Open Source AI",
    "Reinforcement Learning",
    "AI in Education",
    "Cybersecurity AI",
    "Drug Discovery",
    "AI Agents",
    "Image Generation",
    "Video Generation",
    "Music Generation",
    "Recommender Systems",
    "AI Funding",
    "Quantum Computing",
    "Smart Cities",
    "AI in Retail",
    "Industrial Automation",
    "Drones",
    "Medical Imaging",
    "Chatbots",
    "Conversational AI",
    "AI Infrastructure",
    "Data Centers",
    "Privacy",
    "Deepfakes",
    "Facial Recognition",
    "AI and Jobs",
    "AI in Agriculture",
    "Climate AI",
    "Neuromorphic Computing",
    "Federated Learning",
    "Explainable AI",
    "Knowledge Graphs",
    "AI Benchmarks",
    "Humanoid Robots",
    "Synthetic Data",
    "AI Art",
    "Wearable AI",
)

# Fictional news providers: (display name, domain, AMP style). Names are plain YAML scalars.
# AMP styles: "sub" -> https://amp.<domain><path>, "suffix" -> https://www.<domain><path>/amp/.
PROVIDERS: tuple[tuple[str, str, str], ...] = (
    ("Example Tech Daily", "techdaily.example.com", "sub"),
    ("The Example Ledger", "ledger.example.com", "suffix"),
    ("Example Science Wire", "sciencewire.example.org", "sub"),
    ("Robotics Example Review", "roboreview.example.net", "suffix"),
    ("Example Health Times", "healthtimes.example.com", "sub"),
    ("Example Policy Post", "policypost.example.org", "sub"),
    ("Example Auto Journal", "autojournal.example.net", "suffix"),
    ("Example Research Digest", "researchdigest.example.org", "sub"),
    ("Example Business Herald", "herald.example.com", "sub"),
    ("Example Vision Weekly", "visionweekly.example.net", "suffix"),
    ("Northgate Tribune", "northgate-tribune.example.com", "sub"),
    ("The Daily Circuit", "dailycircuit.example.net", "suffix"),
    ("Silicon Harbor News", "siliconharbor.example.com", "sub"),
    ("Example Markets Wire", "marketswire.example.org", "sub"),
    ("Byteline", "byteline.example.net", "suffix"),
    ("The Example Observer", "observer.example.org", "sub"),
    ("Future Lab Weekly", "futurelab.example.com", "suffix"),
    ("Example Cloud Report", "cloudreport.example.net", "sub"),
    ("Datapoint Magazine", "datapoint.example.org", "suffix"),
    ("Example Enterprise IT", "enterprise-it.example.com", "sub"),
    ("Coastline Courier", "coastline.example.net", "sub"),
    ("The Example Standard", "standard.example.com", "suffix"),
    ("Example Developer Times", "devtimes.example.org", "sub"),
    ("Gadget Example", "gadget.example.net", "suffix"),
    ("Example Finance Today", "financetoday.example.com", "sub"),
    ("Example University Press", "unipress.example.org", "suffix"),
    ("Metro Example Post", "metropost.example.net", "sub"),
    ("Example Innovation Review", "innovation.example.com", "sub"),
    ("Example Startups", "startups.example.org", "suffix"),
    ("Example Mobility News", "mobility.example.net", "sub"),
    ("Example Biotech Wire", "biotechwire.example.com", "suffix"),
    ("Example Security Desk", "securitydesk.example.org", "sub"),
    ("Ostermark Zeitung", "ostermark.example.net", "sub"),
    ("Le Quotidien Exemple", "quotidien.example.org", "suffix"),
    ("Example Asia Tech", "asiatech.example.com", "sub"),
    ("Example Robotics Today", "roboticstoday.example.org", "sub"),
    ("The Example Chronicle", "chronicle.example.net", "suffix"),
    ("Example Industry Report", "industryreport.example.com", "sub"),
    ("Example Climate Desk", "climatedesk.example.org", "suffix"),
    ("Example Media Lab", "medialab.example.net", "sub"),
)

# Providers that only ever appear inside related[] items (external, not in the corpus).
RELATED_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("Example Wire Service", "wire.example.org"),
    ("Example ML Notes", "mlnotes.example.org"),
    ("Example Med Review", "medreview.example.org"),
    ("Example Freight Weekly", "freightweekly.example.org"),
    ("Example Workplace Journal", "workplace.example.org"),
    ("Example Regional News", "regional.example.org"),
    ("Example Consumer Tech", "consumertech.example.org"),
    ("Example Analyst Brief", "analystbrief.example.org"),
    ("Example Global Times", "globaltimes.example.org"),
    ("Example Code Review", "codereview.example.org"),
    ("Example Hardware Lab", "hardwarelab.example.org"),
    ("Example Podcast Network", "podcasts.example.org"),
)

ORGS: tuple[str, ...] = (
    "Aster Semiconductor",
    "Corvid Labs",
    "Halden Institute",
    "Meridian Robotics",
    "Kestrel AI",
    "Orchard Compute",
    "Lumara",
    "Brightwater University",
    "Vantor Motors",
    "Pallant Logistics",
    "Quillsight",
    "Cadenza",
    "Norrland Data",
    "Fennek AI",
    "Société Lumière Robotique",
    "Tōkai Vision",
    "Graufeld Systems",
    "Mirelle Health",
    "Oakridge Analytics",
    "Sundial Bio",
    "Paloma Networks",
    "Årdal Energy",
    "Caldera Chips",
    "Winslow Capital",
    "Ibex Mobility",
    "Harrowgate Hospital",
    "Juniper Learning",
    "Montclair Institute",
    "Nimbus Freight",
    "Quay Street Labs",
    "Rivermark Insurance",
    "Solenne Audio",
    "Tern Aerospace",
    "Umbra Security",
    "Velmora’s digital ministry",
    "Wexford Retail",
    "Yarrow Agritech",
    "Zelkova Semiconductors",
    "Coastal States Digital Council",
    "Müller & Sons Automation",
    "Peña Robotics",
    "Ørsted Vision Lab",
)

THINGS: tuple[str, ...] = (
    "inference chip",
    "open-weights language model",
    "robotaxi service",
    "retina screening tool",
    "speech recognition model",
    "warehouse robot",
    "image generator",
    "video-generation model",
    "coding assistant",
    "AI tutor",
    "fraud-detection system",
    "drug-discovery platform",
    "humanoid robot",
    "delivery drone",
    "translation model",
    "protein design model",
    "recommendation engine",
    "data-centre cooling system",
    "on-device assistant",
    "crop-monitoring drone",
    "medical imaging model",
    "customer-support agent",
    "music-generation tool",
    "autonomous truck",
    "AI accelerator",
    "weather forecasting model",
    "chatbot",
    "safety benchmark",
    "synthetic data toolkit",
    "robot arm",
)

AUDIENCES: tuple[str, ...] = (
    "hospitals",
    "small businesses",
    "schools",
    "developers",
    "farmers",
    "banks",
    "city governments",
    "carmakers",
    "newsrooms",
    "game studios",
    "retailers",
    "researchers",
    "logistics firms",
    "insurers",
    "manufacturers",
)

PLACES: tuple[str, ...] = (
    "Velmora",
    "Harbor City",
    "Port Avel",
    "Northgate",
    "the Coastal States",
    "Ostermark",
    "Lindqvist County",
    "São Tomé do Norte",
    "Kirkwall Bay",
    "New Aldmere",
)

ADJECTIVES: tuple[str, ...] = (
    "low-power",
    "open-source",
    "faster",
    "cheaper",
    "smaller",
    "multilingual",
    "privacy-preserving",
    "next-generation",
    "experimental",
    "energy-efficient",
)

CAPABILITIES: tuple[str, ...] = (
    "halve inference costs",
    "spot defects on production lines",
    "summarise long reports",
    "translate between 40 languages",
    "detect early signs of disease",
    "drive at night without lidar",
    "write working code from sketches",
    "forecast demand a week ahead",
    "run entirely on a laptop",
    "sort recycling at conveyor speed",
)

VERDICTS: tuple[str, ...] = (
    "fast, but not ready for clinics",
    "impressive demos, patchy reliability",
    "a real step forward for small teams",
    "promising results on a narrow dataset",
    "cheaper than rivals, with caveats",
    "good at routine tasks, weak at edge cases",
)

QUOTES: tuple[str, ...] = (
    "We are still early",
    "This is not magic",
    "Safety has to come first",
    "The hard part is the data",
    "Nobody should trust a black box",
    "Smaller models will win",
)

CONCERNS: tuple[str, ...] = (
    "the system could entrench existing biases",
    "the company has not published its training data",
    "the results have not been independently replicated",
    "users may over-trust automated recommendations",
    "energy use could rise sharply as deployments grow",
    "personal data could be retained longer than necessary",
)

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

TIMEFRAMES: tuple[str, ...] = (
    "later this year",
    "early next year",
    "within six months",
    "in a limited preview",
    "after a pilot phase",
    "in selected markets",
)

TITLE_TEMPLATES: tuple[str, ...] = (
    "{org} unveils {adj} {thing} for {aud}",
    "{org} raises new funding to build {adj} {thing}",
    "Researchers at {org} show {thing} can {cap}",
    "{org} and {org2} partner on {thing} for {aud}",
    "Regulators in {place} open consultation on {thing} rules",
    "Why {aud} are watching {org}’s new {thing}",
    "{org}’s {thing} tested: {verdict}",
    "“{quote}”: {org} chief on the future of the {thing}",
    "Inside {org}’s bet on the {adj} {thing}",
    "{place} pilots {thing} in partnership with {org}",
    "{org} says its {thing} can {cap}",
    "Study: the {thing} from {org} helps {aud} {cap}",
    "{org} opens {thing} to {aud} {tf}",
    "Can this {adj} {thing} really {cap}? {org} thinks so",
    "{org} delays launch of its {thing} after {aud} raise concerns",
    "{org}'s new {thing} draws praise, and questions, from {aud}",
)

SENTENCES: tuple[str, ...] = (
    "{org} said on {day} that its {thing} would be available to {aud} {tf}.",
    "The company claims the system can {cap}, though independent tests have yet to "
    "confirm the figures.",
    "Analysts at {org2} said the move could put pressure on rivals selling to {aud}.",
    "Critics warn that {concern}.",
    "The project began as a research effort at {org2} and was spun out last year.",
    "Pricing was not disclosed.",
    "A pilot in {place} involved several hundred users over three months.",
    "{org} says the {adj} design uses a fraction of the energy of earlier versions.",
    "Officials in {place} said they would review the results before approving wider use.",
    "The team published a technical report but has not released the underlying data.",
    "Early users describe the {thing} as “useful, but not yet essential”.",
    "The announcement follows similar launches by {org2} earlier in the year.",
    "Note: figures quoted by the company refer to internal benchmarks only.",
    "Researchers cautioned that results on one dataset may not generalise to {aud}.",
    "{org} did not say how many customers have signed up so far.",
)

IMAGE_SIZES: tuple[tuple[int, int], ...] = (
    (1200, 630),
    (1200, 630),
    (1260, 709),
    (1600, 900),
    (1200, 800),
    (1024, 768),
    (800, 450),
)

OFFSETS: tuple[tuple[str, int], ...] = (
    ("+02:00", 120),
    ("+01:00", 60),
    ("+05:30", 330),
    ("+09:00", 540),
    ("-04:00", -240),
    ("-07:00", -420),
    ("+08:00", 480),
    ("-03:00", -180),
)

SECTIONS: tuple[str, ...] = ("tech", "business", "science", "news", "world", "innovation")

# Instants from 2020-01-01 12:00Z to 2026-12-31 12:00Z, so that no local offset leaves 2020-2026.
START = datetime(2020, 1, 1, 12, tzinfo=UTC)
SPAN_MINUTES = int((datetime(2026, 12, 31, 12, tzinfo=UTC) - START).total_seconds() // 60)

_SLUG_RE = re.compile(r"[^a-z0-9]+")
_EXCERPT_RE = re.compile(r"^excerpt: .*$", re.MULTILINE)
_HEAT_RE = re.compile(r"^heat: .*$", re.MULTILINE)


def _zipf_cumulative(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))


TOPIC_CUM = _zipf_cumulative(len(TOPICS), 1.1)
PROVIDER_CUM = _zipf_cumulative(len(PROVIDERS), 0.7)


# --------------------------------------------------------------------------- helpers


@dataclass(slots=True)
class _Article:
    ident: str
    provider: int
    year: int
    date: str
    title: str
    excerpt: str
    web: str
    amp: str
    cdn: str
    quality: int
    images: list[tuple[str, int, int]]


def _q(text: str) -> str:
    """Double-quoted YAML scalar."""
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_RE.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > 80:
        slug = slug[:80].rsplit("-", 1)[0]
    return slug or "article"


def _amp_cache_host(host: str) -> str:
    return host.replace("-", "--").replace(".", "-") + ".cdn.ampproject.org"


def _urls(host: str, style: str, path: str) -> tuple[str, str, str]:
    if style == "sub":
        amp_host = "amp." + host.removeprefix("www.")
        amp_path = path
    else:
        amp_host = host
        amp_path = path + "amp/" if path.endswith("/") else path + "/amp/"
    return (
        f"https://{host}{path}",
        f"https://{amp_host}{amp_path}",
        f"https://{_amp_cache_host(amp_host)}/c/s/{amp_host}{amp_path}",
    )


def _pick(rng: random.Random, cum: list[float]) -> int:
    return bisect.bisect_left(cum, rng.random() * cum[-1])


def _choose(rng: random.Random, items: tuple[str, ...]) -> str:
    return items[int(rng.random() * len(items))]


_POOLS: dict[str, tuple[str, ...]] = {
    "org": ORGS,
    "org2": ORGS,
    "thing": THINGS,
    "adj": ADJECTIVES,
    "aud": AUDIENCES,
    "place": PLACES,
    "cap": CAPABILITIES,
    "verdict": VERDICTS,
    "quote": QUOTES,
    "concern": CONCERNS,
    "day": WEEKDAYS,
    "tf": TIMEFRAMES,
}


def _fields(template: str) -> tuple[str, ...]:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    # "org" is drawn before "org2" so that the two can be kept distinct.
    return tuple(sorted(names, key=lambda name: (name != "org", name)))


_FIELDS: dict[str, tuple[str, ...]] = {t: _fields(t) for t in TITLE_TEMPLATES + SENTENCES}


def _fill(rng: random.Random, template: str) -> str:
    values: dict[str, str] = {}
    for name in _FIELDS[template]:
        value = _choose(rng, _POOLS[name])
        if name == "org2":
            while value == values.get("org"):
                value = _choose(rng, ORGS)
        values[name] = value
    return template.format_map(values)


def _title(rng: random.Random) -> str:
    while True:
        title = _fill(rng, _choose(rng, TITLE_TEMPLATES))
        title = title[0].upper() + title[1:]
        if rng.random() < 0.004:
            title += ' amid "cautious optimism"'  # a straight quote that needs escaping
        if 40 <= len(title) <= 120:
            return title


def _excerpt(rng: random.Random, low: int = 150, high: int = 400) -> str:
    parts: list[str] = []
    length = -1
    while length < low:
        sentence = _fill(rng, _choose(rng, SENTENCES))
        if length + 1 + len(sentence) > high:
            if length >= low:
                break
            room = high - length - 1
            sentence = sentence[:room].rsplit(" ", 1)[0].rstrip(",;:") + "…"
        parts.append(sentence)
        length += 1 + len(sentence)
    return " ".join(parts)


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0]


def _date(rng: random.Random) -> tuple[str, int]:
    moment = START + timedelta(minutes=rng.randrange(SPAN_MINUTES))
    if rng.random() < 0.12:
        suffix, minutes = OFFSETS[rng.randrange(len(OFFSETS))]
        local = moment + timedelta(minutes=minutes)
    else:
        suffix, local = "Z", moment
    seconds = rng.randrange(60) if rng.random() < 0.2 else 0
    return (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d}T"
        f"{local.hour:02d}:{local.minute:02d}:{seconds:02d}{suffix}",
        local.year,
    )


def _secured(rng: random.Random) -> str:
    head = base64.b64encode(rng.randbytes(240)).decode("ascii")
    tail = base64.b64encode(rng.randbytes(16)).decode("ascii")
    return f"{head};{tail}"


def _topics(rng: random.Random) -> list[str]:
    wanted = rng.choices((1, 2, 3, 4), weights=(15, 40, 30, 15))[0]
    chosen: list[str] = []
    while len(chosen) < wanted:
        topic = TOPICS[_pick(rng, TOPIC_CUM)]
        if topic not in chosen:
            chosen.append(topic)
    return chosen


def _heat(rng: random.Random) -> int:
    if rng.random() < 0.3:
        return -1
    return min(200, int(rng.expovariate(1 / 45)))


def _make_article(rng: random.Random, ident: str, number: int) -> _Article:
    provider = _pick(rng, PROVIDER_CUM)
    _, domain, style = PROVIDERS[provider]
    date, year = _date(rng)
    title = _title(rng)
    excerpt = _excerpt(rng, rng.randint(150, 320))
    slug = _slugify(title)
    month, day = date[5:7], date[8:10]
    layout = number % 3
    if layout == 0:
        host, path = "www." + domain, f"/{date[:4]}/{month}/{day}/{slug}-{number}/"
    elif layout == 1:
        section = SECTIONS[number % len(SECTIONS)]
        host, path = "www." + domain, f"/{section}/article/{number}/{slug}"
    else:
        host, path = "news." + domain, f"/{date[:4]}/{month}/{slug}-{ident[:6]}{number}"
    web, amp, cdn = _urls(host, style, path)
    images: list[tuple[str, int, int]] = []
    for k in range(1 if rng.random() < 0.85 else 2):
        width, height = IMAGE_SIZES[rng.randrange(len(IMAGE_SIZES))]
        url = f"https://images.example.org/{date[:4]}/{month}/{ident}-{k}.jpg"
        images.append((url, width, height))
    return _Article(
        ident=ident,
        provider=provider,
        year=year,
        date=date,
        title=title,
        excerpt=excerpt,
        web=web,
        amp=amp,
        cdn=cdn,
        quality=rng.randint(80, 140),
        images=images,
    )


def _external_related(rng: random.Random) -> _Article:
    name_index = rng.randrange(len(RELATED_PROVIDERS))
    _, domain = RELATED_PROVIDERS[name_index]
    date, year = _date(rng)
    title = _title(rng)
    token = f"{rng.getrandbits(48):012x}"
    path = f"/{date[:4]}/{date[5:7]}/{_slugify(title)}-{token}/"
    web, amp, cdn = _urls("www." + domain, "suffix", path)
    images: list[tuple[str, int, int]] = []
    if rng.random() < 0.8:
        width, height = IMAGE_SIZES[rng.randrange(len(IMAGE_SIZES))]
        images.append((f"https://images.example.org/related/{token}.jpg", width, height))
    return _Article(
        ident=token,
        provider=-1 - name_index,
        year=year,
        date=date,
        title=title,
        excerpt=_excerpt(rng, 120, 260),
        web=web,
        amp=amp,
        cdn=cdn,
        quality=rng.randint(70, 140),
        images=images,
    )


def _provider_of(item: _Article) -> tuple[str, str]:
    if item.provider >= 0:
        name, domain, _ = PROVIDERS[item.provider]
        return name, domain
    return RELATED_PROVIDERS[-1 - item.provider]


def _render(
    art: _Article,
    topics: list[str],
    heat: int,
    published: bool,
    kind: str,
    related: list[_Article],
    secured: str,
) -> str:
    name, domain = _provider_of(art)
    out = [
        "---\ncategory: news\n",
        f"title: {_q(art.title)}\n",
        f"excerpt: {_q(art.excerpt)}\n",
        f"publishedDateTime: {art.date}\n",
        f"webUrl: {_q(art.web)}\n",
        f"ampWebUrl: {_q(art.amp)}\n",
        f"cdnAmpWebUrl: {_q(art.cdn)}\n",
        f"type: {kind}\n",
        f"quality: {art.quality}\n",
        f"heat: {heat}\n",
        f"published: {'true' if published else 'false'}\n",
        "\nprovider:\n",
        f"  name: {name}\n",
        f"  domain: {domain}\n",
        "  images:\n",
        f'    - url: "https://static.example.net/providers/{domain}-50x50.png"\n',
        "      width: 50\n      height: 50\n",
        "\ntopics:\n",
    ]
    out.extend(f"  - {topic}\n" for topic in topics)
    title_q = _q(art.title)
    out.append("\nimages:\n")
    for url, width, height in art.images:
        out.append(
            f'  - url: "{url}"\n    width: {width}\n    height: {height}\n    title: {title_q}\n'
        )
    if related:
        out.append("\nrelated:\n")
        for rel in related:
            rel_name, rel_domain = _provider_of(rel)
            out.append(
                f"  - title: {_q(rel.title)}\n"
                f"    excerpt: {_q(_truncate(rel.excerpt, 200))}\n"
                f"    publishedDateTime: {rel.date}\n"
                f"    webUrl: {_q(rel.web)}\n"
                f"    ampWebUrl: {_q(rel.amp)}\n"
                f"    cdnAmpWebUrl: {_q(rel.cdn)}\n"
                "    type: article\n"
                "    provider:\n"
                f"      name: {rel_name}\n"
                f"      domain: {rel_domain}\n"
                f"    quality: {rel.quality}\n"
            )
            if rel.images:
                url, width, height = rel.images[0]
                out.append(
                    f'    images:\n      - url: "{url}"\n'
                    f"        width: {width}\n        height: {height}\n"
                )
    out.append(f'\nsecured: "{secured}"\n---\n\n')
    return "".join(out)


# --------------------------------------------------------------------------- public API


def generate_corpus(out_dir: Path, count: int, seed: int = 42) -> list[Path]:
    """Write ``count`` articles under ``out_dir``; return their paths in generation order.

    Deterministic: the same ``count`` and ``seed`` give byte-identical files.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = random.Random(seed)
    numbers = rng.sample(range(1_000_000, 10_000_000), count)
    idents: set[str] = set()
    articles: list[_Article] = []
    for number in numbers:
        ident = f"{rng.getrandbits(64):016x}"
        while ident in idents:
            ident = f"{rng.getrandbits(64):016x}"
        idents.add(ident)
        articles.append(_make_article(rng, ident, number))

    slugs = [_slugify(name) for name, _, _ in PROVIDERS]
    paths: list[Path] = []
    made_dirs: set[Path] = set()
    for index, art in enumerate(articles):
        related: list[_Article] = []
        if count > 1 and rng.random() < 0.10:
            other = rng.randrange(count - 1)
            related.append(articles[other if other < index else other + 1])
        extra = rng.choices((0, 1, 2, 3), weights=(45, 30, 17, 8))[0]
        if related and extra == 3:
            extra = 2
        related.extend(_external_related(rng) for _ in range(extra))
        rng.shuffle(related)
        text = _render(
            art,
            topics=_topics(rng),
            heat=_heat(rng),
            published=rng.random() < 0.7,
            kind="video" if rng.random() < 0.03 else "article",
            related=related,
            secured=_secured(rng),
        )
        folder = out_dir / str(art.year) / slugs[art.provider]
        if folder not in made_dirs:
            folder.mkdir(parents=True, exist_ok=True)
            made_dirs.add(folder)
        path = folder / f"{art.ident}.md"
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        paths.append(path)
    return paths


def rewrite_articles(paths: list[Path], seed: int) -> None:
    """Modify each file in place: a new top-level excerpt and heat. Still valid YAML.

    Deterministic per (seed, file name); the new excerpt always differs from the old one.
    """
    for path in paths:
        rng = random.Random(f"{seed}:{path.name}")
        text = path.read_text(encoding="utf-8")
        match = _EXCERPT_RE.search(text)
        if match is None:
            raise ValueError(f"{path}: no top-level excerpt line")
        old = match.group(0)
        new = old
        while new == old:
            new = f"excerpt: {_q(_excerpt(rng))}"
        text = text[: match.start()] + new + text[match.end() :]
        text = _HEAT_RE.sub(f"heat: {_heat(rng)}", text, count=1)
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Generate a deterministic synthetic AI-news Markdown corpus for benchmarks."
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="directory to write into")
    parser.add_argument("--count", type=int, default=100_000, help="number of articles")
    parser.add_argument("--seed", type=int, default=42, help="random seed")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be >= 0")
    started = time.perf_counter()
    paths = generate_corpus(args.out_dir, args.count, args.seed)
    elapsed = time.perf_counter() - started
    print(f"wrote {len(paths)} articles to {args.out_dir} in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
