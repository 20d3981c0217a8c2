"""What a store question asks, worked out without a model: words, catalogue links, intent.

The offline router cannot ask the local model (it cannot call tools), so it reads a question the
deterministic way: the question's words are linked to the catalogue by the database (titles and
actors' names with typos allowed, categories with plurals and synonyms), and a few word patterns
say what is asked about them (price, copies, plot, cast, length, year, rating) or how films are
to be found (category, rating, actor, price and length bounds, cheapest / longest / shortest, a
topic), or whether the store's terms are asked about (prices, rental days; or what the database
does not hold, as opening hours). The result is a plan: one store tool to call with its
arguments, a reply, or a handoff.
"""

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from features.catalogue.query import (
    CATEGORY_SYNONYMS,
    NOT_A_TOPIC,
    WORD,
    Linked,
    link,
    normalised,
)
from shared.database import Database

# Category names that are also everyday words: they name a category only next to a film word
# ("music films"), never alone ("music theory", "travel tips").
_EVERYDAY_CATEGORIES = frozenset(
    {"music", "sports", "travel", "games", "family", "foreign", "classics", "action", "children"}
)

_FILM_WORDS = re.compile(
    r"\b(films?|movies?|dvds?|titles?|flicks?|pictures?|catalog(?:ue)?|genres?|categor(?:y|ies)|"
    r"rent(?:al|als|ed|ing)?|in stock|copies|copy|stores?|shelf|streaming|stream|watch|"
    r"rated|rating|actors?|actress(?:es)?|starring|stars?|cast)\b"
)
_ASKS_FOR_FILMS = re.compile(
    r"\b(do you (?:have|carry|stock|sell)|have you got|got any|any good|you got|anything|"
    r"looking for|recommend|suggest|something|show me|list|find|search|want to (?:watch|see)|"
    r"in the mood)\b"
)

Intent = Literal["price", "availability", "about", "cast", "length", "year", "rating"]
_FILM_INTENTS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    (
        "cast",
        re.compile(
            r"\b(who(?:'s| is| are)? (?:in|starring|stars)|cast|actors?|actress(?:es)?|starring|"
            r"stars|who plays?|who acts?|who acted|appears? in|who was in)\b"
        ),
    ),
    (
        "about",
        re.compile(
            r"\b(about|plot|story|storyline|synopsis|summary|summari[sz]e|describe|description|"
            r"premise|what happens|what kind of (?:film|movie))\b"
        ),
    ),
    (
        "length",
        # "how long", but not "how long can I keep it" (that is the rental period: the price's)
        re.compile(
            r"\b(how long(?! (?:can|may|do|does|will) (?:i|we|you) (?:keep|have|get))|length|"
            r"runtime|run time|running time|duration|minutes)\b"
        ),
    ),
    (
        "year",
        # "year", but not "my 12 year old" (that is about the rating)
        re.compile(
            r"\b(what year|which year|year(?![-\s]olds?)|when (?:was|did)|released?|come out|"
            r"came out)\b"
        ),
    ),
    (
        "rating",
        re.compile(
            r"\b(rated|rating|mpaa|age|suitable|appropriate|ok for|okay for|watch it|"
            r"(?:year|yr)s? old)\b"
        ),
    ),
    (
        "availability",
        re.compile(
            r"\b(in stock|available|availability|copies|copy|on the shelf|on shelves|"
            r"in store|which stores?|in now|have it|got it|do you have|have you got|"
            r"can i (?:rent|get))\b"
        ),
    ),
    (
        "price",
        # The price's answer says the rental period too ("rents for $0.99 for 6 days").
        re.compile(
            r"\b(how much|price|prices|cost|costs|rate|rates|charge|fee|\$|keep|how many days|"
            r"due back|rental period)\b"
        ),
    ),
)

# Intents that only a store's film can have: a search for them that finds nothing is a no.
_STOCK_OR_PRICE: frozenset[Intent] = frozenset({"availability", "price"})

_RATING = re.compile(
    r"\b(?:rated\s+|rating\s+(?:of\s+)?)?(nc-?17|pg-?13|pg|g|r)\b(?:[-\s]?rated)?", re.IGNORECASE
)
_CUSTOMER = re.compile(r"\bcustomer\s*(?:#|no\.?|number|id)?\s*(\d{1,12})\b")
_STREAMING = re.compile(r"\b(stream(?:ing|able|ed)?|watch (?:it )?online|online)\b")
_CATEGORIES_LIST = re.compile(
    r"\b(categories|genres|kinds of (?:films|movies)|types of (?:films|movies)|"
    r"sorts of (?:films|movies)|what kind of (?:films|movies) do you)\b"
)
_TOP_ACTORS = re.compile(
    r"\b(actors?|actress(?:es)?|stars|performers)\b.*\b(most|top|prolific|busiest|popular|"
    r"best known|biggest)\b|\b(most|top|prolific|busiest|popular|biggest)\b.*\b(actors?|"
    r"actress(?:es)?|stars|performers)\b"
)
# The store's terms, asked about rentals in general (no film named, nothing to filter by):
# a price (the "price" intent, whose answer says the rental days too), or how long a rental is.
_TERMS_DAYS = re.compile(
    r"\b(rental (?:duration|length|time)|rentals? (?:last|period)|"
    r"how long (?:is|are|does|do) (?:a |the |my )?(?:rent|rentals?))\b"
)
_RENTALS_IN_GENERAL = re.compile(
    r"\b(rent(?:al|als|ing|ed)?|a (?:film|movie|dvd)|movies|films|dvds|your (?:prices|rates)|"
    r"you charge)\b"
)
# Words that may be left over from such a question without making it about something else.
_TERMS_WORDS = frozenset(
    {"cost", "costs", "price", "prices", "charge", "charges", "rate", "rates", "keep", "days",
     "day", "period", "long", "last", "lasts", "due", "back", "get", "pricing"}
)  # fmt: skip
# Store questions the database has no answer to: said so, never left to a model's guess.
_NOT_KNOWN: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "opening hours",
        re.compile(
            r"\b(opening (?:hours|times?)|(?:store|shop|business|your) hours|hours of|"
            r"what time do you (?:open|close)|when do you (?:open|close)|are you open|"
            r"closing time|open (?:on|today|tomorrow|late|now|at))\b"
        ),
    ),
    (
        "late fees",
        re.compile(
            r"\b(late (?:fees?|charges?|returns?)|overdue|"
            r"(?:return|bring) (?:it|them|a \w+|the \w+)(?: back)? late|returned late)\b"
        ),
    ),
    (
        "how many films you can rent at once",
        re.compile(r"\b(at once|at a time|how many (?:films|movies|dvds|rentals) can (?:i|we))\b"),
    ),
)

_HOW_MANY = re.compile(r"\bhow many\b|\bnumber of\b|\bcount\b|\btotal\b")

Sort = Literal["price", "price_desc", "length", "length_desc", "popular"]
_SORTS: tuple[tuple[Sort, re.Pattern[str]], ...] = (
    (
        "price",
        re.compile(r"\b(cheapest|least expensive|lowest price[sd]?|cheap|budget|bargains?)\b"),
    ),
    ("price_desc", re.compile(r"\b(most expensive|priciest|highest price[sd]?|dearest)\b")),
    ("length_desc", re.compile(r"\b(longest|long(?:est)? ones?|lengthiest|epic length)\b")),
    ("length", re.compile(r"\b(shortest|short(?:est)? ones?|quick watch|quickest)\b")),
    ("popular", re.compile(r"\b(most popular|popular|most rented|best|top|favou?rites?|hits?)\b")),
)
# "the longest movie", "shortest film you got", "cheapest horror movie": one film asked for.
_SUPERLATIVE = re.compile(
    r"\b(?:cheapest|longest|shortest|most expensive|priciest|most popular|most rented)"
    r"(?:\s+[a-z-]+)?\s+(?:film|movie|one|title|dvd|flick)\b(?!s)"
)

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "an": 1, "a": 1, "half": 0.5}
_BOUND = re.compile(
    r"\b(under|less than|below|shorter than|cheaper than|no more than|at most|up to|within|"
    r"max(?:imum)?|over|more than|above|longer than|at least|min(?:imum)?)\s+"
    # An amount of at most 6 digits: a longer one bounds nothing (and overflows float -> int).
    r"(\$?\d{1,6}(?:\.\d{1,2})?|an?|one|two|three|four)(\s+and\s+a\s+half)?\s*"
    r"(\$|dollars?|bucks?|cents?|minutes?|mins?|hours?|hrs?|h)?(\s+and\s+a\s+half)?\b",
)
_MAX_WORDS = frozenset(
    {
        "under",
        "less than",
        "below",
        "shorter than",
        "cheaper than",
        "no more than",
        "at most",
        "up to",
        "within",
        "max",
        "maximum",
    }
)
_TOPIC_MARKER = re.compile(
    r"\b(about|with an?|featuring|involving|where|in which|set in|on|concerning)\b"
)


@dataclass(frozen=True)
class FilmQuery:
    """Arguments of the find_films tool; None is "any"."""

    text: str | None = None
    category: str | None = None
    rating: str | None = None
    actor: str | None = None
    max_price: Decimal | None = None
    min_length: int | None = None
    max_length: int | None = None
    streaming: bool | None = None
    sort: Sort | None = None
    limit: int = 10

    def arguments(self) -> dict[str, object]:
        return {
            name: str(value) if isinstance(value, Decimal) else value
            for name, value in vars(self).items()
            if value is not None and name != "limit"
        } | {"limit": self.limit}


@dataclass(frozen=True)
class Understanding:
    """One store question, read."""

    question: str
    linked: Linked
    film: str | None = None  # the one film asked about
    film_intents: tuple[Intent, ...] = ()
    films: FilmQuery | None = None
    count: bool = False  # "how many ..."
    superlative: bool = False  # "the longest film": one answer, ties shown
    customer_id: int | None = None
    catalogue: Literal["categories", "top_actors", "rental_terms"] | None = None
    not_known: str | None = None  # a store question the database has no answer to: what about
    store: bool = False  # is this about the store at all
    # Asks for films outright ("do you have", "looking for", "a movie about") or asks about a
    # film's stock or price: a search that finds nothing is then a no; otherwise the question
    # was not placed in the catalogue.
    seeks_films: bool = False


def _rating(text: str) -> str | None:
    for match in _RATING.finditer(text):
        value = match.group(1).upper().replace("PG13", "PG-13").replace("NC17", "NC-17")
        whole = match.group(0).lower()
        # "g" and "r" are ratings only when said so ("rated r", "r-rated"), never alone.
        if value in {"G", "R"} and "rat" not in whole:
            continue
        return value
    return None


def _bounds(text: str) -> tuple[Decimal | None, int | None, int | None]:
    """(max price, min length, max length) from "under $2", "over 2 hours", "less than 90
    minutes"; a bare number is a price up to 5, minutes from 30."""
    max_price: Decimal | None = None
    min_length: int | None = None
    max_length: int | None = None
    for match in _BOUND.finditer(text):
        word, amount, unit = match.group(1), match.group(2), match.group(4) or ""
        value = float(_NUMBER_WORDS.get(amount, 0) or amount.lstrip("$"))
        if match.group(3) or match.group(5):  # "two and a half hours", "an hour and a half"
            value += 0.5
        is_max = word in _MAX_WORDS
        if amount.startswith("$") or unit in {"$", "dollar", "dollars", "buck", "bucks"}:
            price: Decimal | None = Decimal(str(value))
        elif unit.startswith("cent"):
            price = Decimal(str(value)) / 100
        elif unit.startswith(("hour", "hr", "h")):
            price, value = None, value * 60
        elif unit.startswith("min") or value >= 30:
            price = None
        elif value <= 5:
            price = Decimal(str(value))
        else:
            continue
        if price is not None:
            if is_max:
                max_price = price
            continue
        if is_max:
            max_length = round(value)
        else:
            min_length = round(value)
    return max_price, min_length, max_length


def _category(linked: Linked, text: str) -> str | None:
    for name in linked.categories:
        lowered = name.lower()
        everyday = lowered in _EVERYDAY_CATEGORIES
        if lowered == "new":
            if "category-new" in text:
                return name
            continue
        if everyday and not _FILM_WORDS.search(text) and not _ASKS_FOR_FILMS.search(text):
            continue
        return name
    return None


def _topic(question: str, linked: Linked, category: str | None) -> tuple[str, ...]:
    """The words left once links, filters and filler are taken out: a topic to search for."""
    taken = {w for name in (*linked.films, *linked.actors) for w in WORD.findall(name.lower())}
    if category:
        taken.add(category.lower())
    left: list[str] = []
    for word in WORD.findall(question.lower().replace("\u2019", "'")):
        base = CATEGORY_SYNONYMS.get(word, word)
        if word in NOT_A_TOPIC or base in taken or base in NOT_A_TOPIC or word.isdigit():
            continue
        if base in CATEGORY_SYNONYMS.values() or _RATING.fullmatch(word):
            continue
        if word.startswith("$") or len(word) < 3:
            continue
        left.append(word)
    return tuple(dict.fromkeys(left))


def _store_terms(
    base: Understanding, text: str, intents: tuple[Intent, ...], topic: tuple[str, ...]
) -> Understanding | None:
    """A question about renting in general ("how much is a rental", "how long can I keep a
    dvd"): the terms; one the database cannot answer (opening hours, late fees): which."""
    for what, pattern in _NOT_KNOWN:
        if pattern.search(text):
            return replace(base, not_known=what, store=True)
    asked = "price" in intents or _TERMS_DAYS.search(text)
    if asked and _RENTALS_IN_GENERAL.search(text) and _TERMS_WORDS.issuperset(topic):
        return replace(base, catalogue="rental_terms", store=True)
    return None


def understand(question: str, linked: Linked) -> Understanding:
    """Read a question, given what it names in the catalogue."""
    text = normalised(question)
    base = Understanding(question=question, linked=linked)

    customer = _CUSTOMER.search(text)
    if customer:
        return replace(base, customer_id=int(customer[1]), store=True)

    film_words = bool(_FILM_WORDS.search(text))
    asks_for_films = bool(_ASKS_FOR_FILMS.search(text))

    lists_categories = _CATEGORIES_LIST.search(text) and not linked.films and not linked.actors
    if lists_categories and (film_words or asks_for_films or "what" in text):
        return replace(base, catalogue="categories", store=True)
    if _TOP_ACTORS.search(text) and not linked.actors and not linked.films:
        return replace(base, catalogue="top_actors", store=True)

    category = _category(linked, text)
    rating = _rating(question)
    max_price, min_length, max_length = _bounds(text)
    sort = next((name for name, pattern in _SORTS if pattern.search(text)), None)
    streaming = True if _STREAMING.search(text) else None
    actor = linked.actors[0] if linked.actors else None

    intents = tuple(name for name, pattern in _FILM_INTENTS if pattern.search(text))
    if linked.films and (not actor or intents):
        # A film, named: what about it? (With an actor named too, only if something is asked
        # about the film; else the actor's films.)
        return replace(base, film=linked.films[0], film_intents=intents, store=True)

    filters = any(
        value is not None
        for value in (category, rating, actor, max_price, min_length, max_length, streaming)
    )
    topic = _topic(question, linked, category)
    no_film = not filters and sort is None and not linked.films
    if no_film and (terms := _store_terms(base, text, intents, topic)):
        return terms
    has_topic_marker = bool(_TOPIC_MARKER.search(text))
    store = filters or film_words or (sort is not None and asks_for_films)
    # "is crimson walrus available?": at a film store, asking whether something is in is
    # asking for a film, named or not.
    asks_if_in = "availability" in intents
    if not store and not ((asks_for_films or asks_if_in) and topic):
        if linked.actor_namesakes and (film_words or asks_for_films):
            return replace(base, store=True)
        return base  # not about the store: the general agent's
    use_topic = bool(topic) and (has_topic_marker or not filters)
    namesakes = {w for name in linked.actor_namesakes for w in WORD.findall(name.lower())}
    if use_topic and not filters and namesakes.issuperset(topic):
        return replace(base, store=True)  # "films with penelope": which Penelope?
    if not filters and not topic and sort is None and not _HOW_MANY.search(text):
        if linked.actor_namesakes:
            return replace(base, store=True)
        if not asks_for_films:
            return base  # a film word in a question about something else ("a movie quote")
    count = bool(_HOW_MANY.search(text))
    if sort is None and not filters and not use_topic and not count:
        sort = "popular"  # "recommend a movie for tonight": what people rent most
    query = FilmQuery(
        text=" ".join(topic) if use_topic else None,
        category=category,
        rating=rating,
        actor=actor,
        max_price=max_price,
        min_length=min_length,
        max_length=max_length,
        streaming=streaming,
        sort=sort,
    )
    return replace(
        base,
        films=query,
        count=count,
        seeks_films=asks_for_films
        or has_topic_marker
        or filters
        or bool(_STOCK_OR_PRICE.intersection(intents)),
        superlative=bool(_SUPERLATIVE.search(text)),
        store=True,
    )


async def read_question(db: Database, question: str) -> Understanding:
    """Link the question to the catalogue (one read), then read it."""
    return understand(question, await link(db, question))
