"""What a store question asks, worked out without a model, in the light of the conversation.

1. The question's words are linked to the catalogue by the database (titles and actors' names
   with typos allowed, categories with plurals and synonyms), and its bounds, rating, order and
   customer number are read off it: the slots.
2. The words left over are stemmed by PostgreSQL, and the intent whose example phrasing is
   nearest is chosen (intents.py). The content words that no phrasing uses are the topic.
3. A follow-up ("how much is it", "only the ones under an hour", "and in ARMY FLINTSTONES?")
   takes what it leaves out from the conversation: the films the last answer named, and the
   previous question's reading. The conversation is what the client sends back; nothing of it
   is kept here.

The result is an `Understanding`: one intent with its slots, for the rules router to answer.
"""

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

from features.catalogue.intents import (
    BY_NAME,
    CUSTOMER_INTENTS,
    FILM_INTENTS,
    NOT_FILMS,
    TOP_CUSTOMERS_BY,
    IntentIndex,
    IntentName,
    example_words,
)
from features.catalogue.query import (
    CATEGORY_SYNONYMS,
    LIST_LIMIT,
    SPECIAL_FEATURES,
    WORD,
    Linked,
    Stem,
    actors_in,
    link,
    normalised,
    plot_words,
    stems,
    story_stems,
    titles_in,
)
from features.films.query import FilmFilters, Sort
from shared.database import Database

# Words for who watches that also name a category: with an actor named, they are the audience.
_AUDIENCE_WORDS = frozenset({"kid", "kids", "kids'", "child"})
# Category names that are also everyday words: they name a category only next to a film word
# ("music films"), never alone ("music theory", "travel tips").
_EVERYDAY_CATEGORIES = frozenset(
    {"music", "sports", "travel", "games", "family", "foreign", "classics", "action", "children"}
)
_FILM_WORDS = re.compile(
    r"\b(films?|movies?|dvds?|titles?|flicks?|catalog(?:ue)?|genres?|categor(?:y|ies)|"
    r"rent(?:al|als|ed|ing)?|in stock|copies|copy|shelf|streaming|stream|watch|rated|rating|"
    r"starring|cast|any|anything|some|something|show me|recommend|suggest|looking for|got)\b"
)
_RATING = re.compile(
    r"\b(?:rated\s+|rating\s+(?:of\s+)?)?(nc-?17|pg-?13|pg|g|r)\b(?:[-\s]?rated)?", re.IGNORECASE
)
_FILM_NOUN = re.compile(r"(films?|movies?|dvds?|flicks?)\b", re.IGNORECASE)
_CUSTOMER = re.compile(r"\bcustomer\s*(?:#|no\.?|number|id)?\s*(\d{1,12})\b")
_STREAMING = re.compile(r"\b(stream(?:ing|able|ed)?|watch (?:it )?online|online)\b")
_STORE = re.compile(
    r"\b(?:store|shop|branch|location)\s*(?:#|no\.?|number)?\s*([12])\b|"
    r"\b(first|second|1st|2nd|other)\s+(?:store|shop|branch|one|location)\b"
)
_STORE_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2}
_HOW_MANY = re.compile(r"\bhow many\b|\bnumber of\b|\bcount\b|\btotal\b")
# Several films referred back to ("how much are they"), and what a film's line in a list says.
_THEM = re.compile(r"\b(they|them|those|these|theyre|each of them|all of them)\b")
_ON_A_LIST_LINE: frozenset[IntentName] = frozenset({"price", "length", "rating", "category"})
# "anything w a sumo wrestler in it": films asked for by what is in them, with no film word.
_ANYTHING_WITH = re.compile(r"^\W*(?:any|anything|something|got any)\s+(?:with|w|where)\b")
# A count of everything, not of the film just talked about.
_WHOLE = re.compile(r"\b(altogether|total|overall|in all|all|every|whole|catalog(?:ue)?)\b")
# Words said to be in a title: "with rocky in the title", "called love something".
_IN_TITLE = re.compile(
    r"\bwith (?:the words? )?([a-z0-9' ]{2,40}?) in (?:the |its |their )?(?:titles?|names?)\b|"
    r"\b(?:called|titled|named) ([a-z0-9']{2,}(?: [a-z0-9']{2,})?)\s*$"
)
# What a count is of when it is not the films just listed: one film's copies, a store's.
_OF_A_THING = re.compile(r"\b(it|its|copies|copy|stores?|shops?|customers?|actors?|staff)\b")
# Words that point back into the conversation, and openings that continue it.
_REFERS_BACK = re.compile(
    r"\b(it|its|it's|that|this|those|these|them|they|the film|the movie|same|one|ones)\b"
)
_ASKS_FOR_FILMS = re.compile(
    r"\b(do you (?:have|carry|stock|sell)|have you got|got any|looking for|"
    r"recommend|suggest|show me|list|find|search)\b"
)
# What only the store can say, whatever else a question says ("is parasite (the one that won
# best picture) in stock").
_OF_THE_STORE = re.compile(r"\b(in stock|copies|copy|rent|rented|renting|available|carry)\b")
# "that short", "as cheap": the bounds of the search before.
_SAME_BOUND = re.compile(r"\b(?:that|as|so|just as) (?:short|long|cheap|quick)\b")
# Words that say a question is about people (see Intent.of_people).
_PEOPLE = re.compile(r"\b(who|whos|who's|customers?|clients?|members?|renters?|spenders?)\b")
_THAT_RATING = re.compile(r"\brated (?:that|the same)\b|\b(?:that|same) rating\b")
_PERSON_BACK = re.compile(r"\b(she|her|hers|he|him|his|they|them|their)\b")
# "she", "he": one person, never films ("any of them" is the films just found).
_ONE_PERSON = re.compile(r"\b(she|shes|she's|her|hers|he|hes|he's|him|his)\b")
# Openings that only join a follow-up to the question before ("and trap guys?"): they ask
# nothing themselves, so they are no phrasing's words.
_CONNECTIVE = re.compile(r"^\W*(?:and|what about|how about)(?:\s+(?:for|of|with))?\b")
# A question that says it is not about the store ("not asking what you stock, just in
# general"), or asks what a word means ("what does 'deleted scenes' mean on a dvd box").
_NOT_THE_STORE = re.compile(
    r"\bnot asking (?:about )?(?:what|if|whether) (?:you|u|ur|your)\b|\bjust in general\b|"
    r"\bin general,? not\b|\bgenerally speaking\b|\bnot (?:about )?(?:your|the store'?s) "
    r"(?:stock|catalog(?:ue)?|films|movies|shelves)\b"
)
_DEFINITION = re.compile(
    r"\bwhat (?:does|do|is|are)\b[^?.!]{0,40}\bmean\b|\bmeaning of\b|\bwhat is meant by\b|"
    r"^\W*what(?:'s|s| is| are) an? [^?.!]{1,40}\bexactly\b"  # "what is a commentary track exactly"
)
# Questions about films in the world, not ours, though they may name a genre or a rating: an
# opinion, a record, a history, a comparison of kinds, a format ("why do horror films come out
# at halloween", "the best selling dvd of all time", "what does nc-17 stand for").
_OF_THE_WORLD = re.compile(
    r"\bwhy (?:do|does|did|are|is|were|was)\b|\bof all time\b|\bever (?:been )?made\b|"
    r"\bbest way to\b|\bmost common\b|\bcliches?\b|\btropes?\b|\btrivia\b|"
    r"\bin (?:the uk|britain|england|europe|other countries|another country)\b|"
    r"\bin (?:your|ur|my) opinion\b|\bwhat do (?:you|u) think\b|\bdifference between\b|"
    r"\b(?:the|actual) difference\b|"
    r"\bstands? for\b|\bshort for\b|\b(?:won|win|wins) the most\b|"
    r"\bthe first (?:[a-z]+ ){1,3}(?:movie|film)\b|\bregion (?:locked|free|codes?)\b|"
    r"\bgift ideas?\b|\bideas? for an? (?:[a-z]+ )?(?:gift|present)\b|"
    # sums ("whats 15% of 4.99")
    r"\d\s*%|\bpercent\b|"
    r"\d\s*(?:[+*/]|plus|minus|times|divided by)\s*\$?\d"
)
# Someone's contact details ("mary smith's email", "the phone number of john"): a customer's,
# whoever is named; a guest is refused alike whether or not the name is a customer's.
_SOMEONES_CONTACT = re.compile(
    r"\b([a-z]+(?: [a-z]+)?)'?s (?:e-?mail|email address|phone|phone number|number|"
    r"home address|address)\b|\b(?:e-?mail|phone number|home address) (?:of|for) ([a-z]+ [a-z]+)\b"
)
_CONTACT = re.compile(
    r"\b(e-?mail|phone|home address|contact details|where (?:does|do) \w+ live)\b"
)
# Whose contact details are not a person's: the store's, the asker's own.
_NOT_A_PERSON = frozenset(
    {"store", "stores", "shop", "branch", "your", "ur", "the", "my", "our", "its", "it",
     "lethbridge", "woodridge", "canadian", "australian", "manager", "company"}
)  # fmt: skip
# Whose rentals are asked of: "what has my neighbour john been renting", "what did mary rent".
_SOMEONES_RENTALS = re.compile(
    r"\bwhat (?:has|have|had|did|does|do|is|was)\s+([a-z' ]{1,40}?)\s+(?:been\s+)?"
    r"(?:rent(?:ing|ed|s)?|borrow(?:ing|ed|s)?|check(?:ed|ing)? out|(?:got|taken) out)\b"
)
# Subjects of that phrasing that are no one person: the films' order or the asker's own.
_NO_ONE = frozenset(
    {"i", "you", "u", "we", "people", "everyone", "everybody", "others", "other", "folks",
     "customers", "most", "anyone", "it", "that", "this", "they", "film", "films", "movie",
     "movies", "dvd", "dvds", "title", "titles", "the", "being", "getting", "been"}
)  # fmt: skip
# One customer said so ("your customer dorothy taylor"); "customers" are the top ones.
_SAYS_CUSTOMER = re.compile(r"\b(customer|client|signed up|registered|payments?)\b")
# "what about R?", "and g?": a bare rating letter, after a search, is a rating.
_BARE_RATING = re.compile(
    r"^\W*(?:and|what about|how about|only|just)\s+(?:the\s+)?(g|r)(?:\s+ones?)?\W*$"
)
# "name a couple", "list a few", "show me some": some of the films just counted or found.
_NAME_SOME = re.compile(
    r"^\W*(?:ok(?:ay)?\s+|so\s+|then\s+|can you\s+|could you\s+)?"
    r"(?:name|list|show(?: me)?|give me|tell me)\s+(?:a\s+)?"
    r"(?:couple|few|some|them|those|one|two|three|examples?)\b"
)
# A range asked for, both ends at once ("the range of rental prices, cheapest to dearest").
_RANGE = re.compile(
    r"\b(range|spread|min(?:imum)? and max(?:imum)?|lowest (?:to|and) highest|"
    r"cheapest (?:to|and) (?:the )?(?:most expensive|dearest|priciest))\b"
)
# "your films", "the films you carry": a question asked of our films as a whole.
_OUR_FILMS = re.compile(
    r"\b(?:your|ur)\s+(?:films?|movies?|dvds?|catalog(?:ue)?|collection|stock)\b|"
    r"\b(?:films?|movies?|dvds?)\s+(?:that\s+)?(?:you|u)\s+(?:have|carry|stock|rent)\b"
)
_CONTINUES = re.compile(
    r"^\W*(and|what about|how about|only|just|but|also|then|which of|any of|of those|ok so)\b"
)

# A comparative is an order ("which one is longer"); with "than" it is a bound ("longer than
# 3 hours", see _BOUND).
_NOT_THAN = r"(?!\s+than)"
# Each order (features/films/query.py SORT_WORDS), and how a question asks for it; the first
# that matches wins.
SORTS: tuple[tuple[Sort, re.Pattern[str]], ...] = (
    (
        "replacement_desc",
        re.compile(
            r"\b(most|dearest|priciest|most expensive|highest)\b.{0,25}\b(replac|if (?:i )?los)"
        ),
    ),
    (
        "replacement",
        re.compile(r"\b(cheapest|least|lowest|least expensive)\b.{0,25}\b(replac|if (?:i )?los)"),
    ),
    # The rental period, said with the words of length ("the longest rental period", "which
    # can i keep the longest"): before the film's own length.
    (
        "days_desc",
        re.compile(
            r"\b(longest|most days)\b.{0,12}\b(rental|period|keep)|\bkeep\b.{0,12}\blongest\b"
        ),
    ),
    ("cast_desc", re.compile(r"\b(biggest|largest|most|longest)\b.{0,12}\b(cast|actors)\b")),
    ("days", re.compile(r"\b(shortest|fewest days)\b.{0,12}\b(rental|period|keep)")),
    (
        "price",
        re.compile(
            rf"\b(cheapest|cheaper{_NOT_THAN}|least expensive|lowest price[sd]?|cheap|budget|"
            r"bargain)"
        ),
    ),
    (
        "price_desc",
        re.compile(
            rf"\b(most expensive|(?:more expensive|pricier){_NOT_THAN}|priciest|"
            r"highest price[sd]?|dearest|costs? the most)\b"
        ),
    ),
    (
        "length_desc",
        re.compile(rf"\b(longest|longer{_NOT_THAN}|long(?:est)? ones?|lengthiest|epic length)\b"),
    ),
    (
        "length",
        re.compile(rf"\b(shortest|shorter{_NOT_THAN}|short(?:est)? ones?|quick watch|quickest)\b"),
    ),
    (
        "popular",
        re.compile(
            r"\b(most popular|popular|most rented|rent(?:ed|s)? the most|best|top|favou?rites?|"
            r"hits?)\b"
        ),
    ),
)
# "the longest movie", "which of those is the cheapest", "which one is longer": one film asked
# for.
_SUPERLATIVE = re.compile(
    r"\b(?:the )?(?:cheapest|longest|shortest|most expensive|priciest|most popular|most rented|"
    r"(?:biggest|largest) cast|"
    rf"rent(?:ed|s)? the most|(?:cheaper|longer|shorter|pricier|more expensive){_NOT_THAN})"
    r"(?!\s+(?:films|movies|ones|titles|dvds))\b"
)

_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "an": 1, "a": 1, "half": 0.5}
_BOUND = re.compile(
    r"\b(nothing (?:over|above|longer than|more than)|"  # "nothing over 100 min": at most
    r"under|less than|below|shorter than|cheaper than|no more than|no longer than|"
    r"not longer than|no shorter than|not shorter than|no less than|at most|up to|within|"
    r"max(?:imum)?|over|more than|above|longer than|at least|min(?:imum)?)\s+"
    # An amount of at most 6 digits: a longer one bounds nothing (and overflows float -> int).
    r"(\$?\d{1,6}(?:\.\d{1,2})?|an?|one|two|three|four)(\s+and\s+a\s+half)?\s*"
    r"(\$|dollars?|bucks?|cents?|minutes?|mins?|hours?|hrs?|h)?(\s+and\s+a\s+half)?\b",
)
_ROUGHLY = re.compile(
    r"\b(?:like|about|around|roughly|nearly|almost|approximately|maybe)\s+"
    r"(\d{1,3}|an?|one|two|three|four)\s*(hours?|hrs?|minutes?|mins?)\b"
)
_ROUGH_MINUTES = 20  # how far off a length said roughly may be
# Words of a film's story that recall it: one is a topic ("a movie about a shark"), two that one
# description holds together are its plot ("a crocodile and a pastry chef").
_PLOT_WORDS = 2
# Bounds that leave their amount out ("under 90 minutes": 89 at most), and those that keep it.
# A bound said after its amount: "a dollar or less", "90 minutes or longer".
_BOUND_AFTER = re.compile(
    r"\b(\$?\d{1,6}(?:\.\d{1,2})?|an?|one|two|three|four)\s*"
    r"(\$|dollars?|bucks?|cents?|minutes?|mins?|hours?|hrs?)\s+or\s+"
    r"(less|under|below|cheaper|shorter|more|over|above|longer)\b"
)
_AFTER_AS_BEFORE = {"less": "at most", "under": "at most", "below": "at most",
                    "cheaper": "at most", "shorter": "at most", "more": "at least",
                    "over": "at least", "above": "at least", "longer": "at least"}  # fmt: skip
_STRICT_WORDS = frozenset(
    {"under", "less than", "below", "shorter than", "cheaper than", "over", "more than", "above",
     "longer than"}
)  # fmt: skip
_MAX_WORDS = frozenset(
    {"under", "less than", "below", "shorter than", "cheaper than", "no more than", "at most",
     "no longer than", "not longer than", "up to", "within", "max", "maximum", "nothing over",
     "nothing above", "nothing longer than", "nothing more than"}
)  # fmt: skip
# How near a phrasing must be to count as understood (a cosine of weighted stems), and how
# near a second one, against the first, to count as asked too.
NEAR_ENOUGH = 0.3
_ALSO_ASKED = 0.9
# How near, against a film's question with no film, a store-wide one must be to take it.
_FALLBACK = 0.75
# Near, but only weakly: words left over then say it is about something else.
_WEAK = 0.45
# Near enough to be sure: a store-wide answer then stands with words left over.
_SURE = 0.6
# Nearness of a film question that, with nothing nearer asked of the film named, is what is
# asked ("can i rent X from either store"); below it, a film named alone is asked its price.
_FAINT = 0.25
# Intents that list the catalogue: an order asked of them is theirs ("the most popular genres").
_LISTS: frozenset[IntentName] = frozenset(
    {"categories", "top_actors", "top_renters", "top_spenders"}
)
# Intents that count copies: of one film when a film is named.
_COPIES: frozenset[IntentName] = frozenset({"store_copies", "totals"})
# Intents about one store when one is named; a follow-up's store is the conversation's.
_OF_A_STORE: frozenset[IntentName] = frozenset(
    {"store_location", "store_manager", "store_copies", "customer_count", "staff"}
)
# Intents whose "he" or "she" is a member of staff, not an actor.
_ABOUT_STAFF: frozenset[IntentName] = frozenset({"store_manager", "staff"})
# Intents about the store as a whole: they take no film and no topic.
_STORE_WIDE: frozenset[IntentName] = frozenset(
    {"categories", "top_actors", "totals", "rental_terms", "languages", "store_location",
     "store_manager", "store_copies", "customer_count", "overdue", "averages", "staff"}
)  # fmt: skip
# What is asked of a store (not of its staff): a member of staff named says which store.
_OF_THE_STORES: frozenset[IntentName] = frozenset(
    {"store_location", "store_manager", "store_copies", "customer_count"}
)


def _argument(value: object) -> object:
    """A filter as a tool takes it: amounts as strings, names as lists."""
    if isinstance(value, Decimal):
        return str(value)
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class FilmQuery:
    """Arguments of the find_films tool; None is "any"."""

    text: str | None = None
    title: str | None = None  # words of a title, when the whole title was not placed
    category: str | None = None
    rating: str | None = None
    actor: str | None = None
    actors: tuple[str, ...] | None = None  # all of them in it, when several are named
    titles: tuple[str, ...] | None = None  # only these: films the conversation named, compared
    max_price: Decimal | None = None
    min_price: Decimal | None = None
    min_days: int | None = None
    feature: str | None = None
    language: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_year: int | None = None
    max_year: int | None = None
    streaming: bool | None = None
    sort: Sort | None = None
    limit: int = LIST_LIMIT

    def arguments(self) -> dict[str, object]:
        return {
            name: _argument(value)
            for name, value in vars(self).items()
            if value is not None and name != "limit"
        } | {"limit": self.limit}

    def filters(self) -> FilmFilters:
        """The films page's search, which these arguments are: `text` is its topic."""
        given = {k: v for k, v in vars(self).items() if k not in ("text", "sort", "limit")}
        return FilmFilters(topic=self.text, **given)

    def refined(self, other: "FilmQuery") -> "FilmQuery":
        """This search narrowed by a follow-up's filters: the follow-up's win where both say."""
        given = {k: v for k, v in vars(other).items() if v is not None and k != "limit"}
        return replace(self, **given)


@dataclass(frozen=True)
class Understanding:
    """One store question, read."""

    question: str
    linked: Linked
    intent: IntentName = "general"
    film: str | None = None  # the one film asked about
    film_intents: tuple[IntentName, ...] = ()  # what is asked about it, nearest first
    films: FilmQuery | None = None
    count: bool = False  # "how many ..."
    superlative: bool = False  # "the longest film": one answer, ties shown
    customer_id: int | None = None
    store_id: int | None = None  # "the second store", "store 1"
    # Asks for films outright, or asks of a film's stock or price: a search that finds nothing
    # is then a no; otherwise the question was not placed in the catalogue.
    seeks_films: bool = False
    # The nearest question about the store, though this one went to the general agent: what a
    # general answer may be grounded in ("name three film genres": the store's categories).
    nearest_store: IntentName | None = None


@dataclass(frozen=True)
class Context:
    """What a follow-up may take from the conversation."""

    previous: Understanding | None = None  # the previous question, as it was read
    films: tuple[str, ...] = ()  # the films the latest answer that named any named
    # The last actor and store the conversation was about: what "she", "he" and "there" stand
    # for when the question names none.
    actor: str | None = None
    store_id: int | None = None
    # The one film each of the last turns was about, latest first: what "which one is longer"
    # compares.
    recent_films: tuple[str, ...] = ()
    # The customer the last turn was about, or the one its answer named ("... is out with Gina
    # Williamson (customer 123, ...)"): whose "their email" is asked next.
    customer_id: int | None = None
    # The latest search of the last turns, though a question about one film came after it:
    # what "and the shortest one?" orders again.
    search: FilmQuery | None = None


@dataclass
class _Index:
    index: IntentIndex | None = field(default=None)
    story: frozenset[str] | None = field(default=None)


# The examples' stems and the stories' stems: the same for every question, read once per process.
_INDEX = _Index()


async def intent_index(db: Database) -> IntentIndex:
    if _INDEX.index is None:
        found = await stems(db, example_words())
        _INDEX.index = IntentIndex.of({word: stem.stem for word, stem in found.items()})
    return _INDEX.index


async def _story_stems(db: Database) -> frozenset[str]:
    if _INDEX.story is None:
        _INDEX.story = await story_stems(db)
    return _INDEX.story


def _rating(text: str) -> str | None:
    for match in _RATING.finditer(text):
        value = match.group(1).upper().replace("PG13", "PG-13").replace("NC17", "NC-17")
        whole = match.group(0).lower()
        # "g" and "r" are ratings only when said so ("rated r", "r-rated", "g movies"), never
        # alone.
        then = text[match.end() :].lstrip()
        if value in {"G", "R"} and "rat" not in whole and not _FILM_NOUN.match(then):
            continue
        return value
    return None


def _bounds(text: str) -> tuple[Decimal | None, Decimal | None, int | None, int | None]:
    """(max price, min price, min length, max length) from "under $2", "over 2 hours", "less than 90
    minutes"; a bare number is a price up to 5, minutes from 30."""
    max_price: Decimal | None = None
    min_price: Decimal | None = None
    min_length: int | None = None
    max_length: int | None = None
    said = [
        (m.group(1), m.group(2), m.group(4) or "", bool(m.group(3) or m.group(5)))
        for m in _BOUND.finditer(text)
    ] + [
        (_AFTER_AS_BEFORE[m.group(3)], m.group(1), m.group(2), False)
        for m in _BOUND_AFTER.finditer(text)
    ]
    for word, amount, unit, and_a_half in said:
        value = float(_NUMBER_WORDS.get(amount, 0) or amount.lstrip("$"))
        if and_a_half:  # "two and a half hours", "an hour and a half"
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
        strict = word in _STRICT_WORDS
        if price is not None:
            if is_max:
                max_price = price - Decimal("0.01") if strict else price
            else:
                min_price = price + Decimal("0.01") if strict else price
            continue
        minutes = round(value)
        if is_max:
            max_length = minutes - 1 if strict else minutes
        else:
            min_length = minutes + 1 if strict else minutes
    return max_price, min_price, min_length, max_length


def _roughly(text: str) -> tuple[int | None, int | None]:
    """A length said roughly ("like 3 hours", "around 90 minutes"): that, give or take."""
    match = _ROUGHLY.search(text)
    if match is None:
        return None, None
    amount, unit = match.group(1), match.group(2)
    value = float(_NUMBER_WORDS.get(amount, 0) or amount)
    minutes = round(value * 60 if unit.startswith(("hour", "hr")) else value)
    return minutes - _ROUGH_MINUTES, minutes + _ROUGH_MINUTES


def _category(linked: Linked, text: str) -> str | None:
    for name in linked.categories:
        lowered = name.lower()
        if lowered == "new":
            if "category-new" in text:
                return name
            continue
        if lowered in _EVERYDAY_CATEGORIES and not _FILM_WORDS.search(text):
            continue
        if linked.actors and linked.category_words <= _AUDIENCE_WORDS:
            continue  # "my kid likes mena hopper": who watches, not the actor's films' category
        return name
    return None


def _store(text: str, last: int | None = None) -> int | None:
    """The store a question numbers ("store 2", "the first shop"), or "the other one" than the
    one the conversation was about."""
    match = _STORE.search(text)
    if match is None:
        return None
    if match.group(1):
        return int(match.group(1))
    if match.group(2) == "other":
        return None if last is None else _STORE_ORDINALS["first"] + _STORE_ORDINALS["second"] - last
    return _STORE_ORDINALS.get(match.group(2))


# Release years: a decade ("80s movies", "the 1990s"), a year with a side ("released 2015 or
# later", "before 1990", "newer than 2010"), or a year alone ("from 2006").
_DECADE = re.compile(r"\b(?:the )?'?(19|20)?([0-9])0'?s\b")
_YEAR_AFTER = r"(?:after|newer than|later than|since)"
_YEAR_BEFORE = r"(?:before|older than|earlier than|prior to)"
_YEAR = re.compile(
    rf"\b(?:({_YEAR_AFTER})|({_YEAR_BEFORE})|(?:released|made)(?: in)?|from)\s+"
    r"((?:19|20)\d\d)\b"
    r"(?:\s+or\s+(later|newer|after|earlier|older|before))?|"
    r"\b((?:19|20)\d\d)\s+or\s+(later|newer|after|earlier|older|before)\b"
)


def _years(text: str) -> tuple[int | None, int | None]:
    """(first year, last year) of release a question bounds, or (None, None)."""
    if match := _YEAR.search(text):
        after, before, year, side = match.group(1), match.group(2), match.group(3), match.group(4)
        if year is None:
            year, side = match.group(5), match.group(6)
        when = int(year)
        if after or side in {"later", "newer", "after"}:
            strict = bool(after) and after != "since" and not side  # "since 2000": 2000 too
            return (when + 1 if strict else when), None
        if before or side in {"earlier", "older", "before"}:
            return None, (when - 1 if before and not side else when)
        return when, when
    if match := _DECADE.search(text):
        century, decade = match.group(1), int(match.group(2))
        if century is None and decade < 3:
            return None, None  # "20s", "10s": ages as often as decades
        start = int(century or "19") * 100 + decade * 10
        return start, start + 9
    return None, None


# Words that say what a film is about: a search for it is asked for ("a movie about a shark").
_ABOUT = re.compile(r"\b(about|featuring|involving|set in|in which)\b")
_FEATURES = re.compile(
    r"\b(?:(?:the )?director'?s?'? )?"  # "director commentaries": a feature, not a director
    r"(trailers?|commentar(?:y|ies)|deleted scenes?|behind[- ]the[- ]scenes)\b"
)
_FEATURE_NAMES = {name.lower(): name for name in SPECIAL_FEATURES}
# "for 4.99", "that are $2.99 to rent", "for 99 cents": one rental rate (a bound says "under").
_EXACT_PRICE = re.compile(r"\$?\b(\d\.\d\d)\b|\b(\d{1,2})\s*(?:cents?|c)\b")
# "for a week", "for a whole week", "for 5 days": the fewest rental days.
_DAYS = re.compile(r"\bfor (a|one|two|\d{1,2})? ?(?:whole |full |entire )?(weeks?|days?)\b")


def _feature(text: str) -> str | None:
    match = _FEATURES.search(text)
    if match is None:
        return None
    said = match.group(1).replace("-", " ")
    for key, name in _FEATURE_NAMES.items():
        if said.startswith(key[:7]):  # "commentary" is Commentaries, "trailer" Trailers
            return name
    return None


def _days(text: str) -> int | None:
    match = _DAYS.search(text)
    if match is None:
        return None
    said = match.group(1) or "a"
    count = {"a": 1, "one": 1, "two": 2}.get(said) or int(said)
    return count * 7 if match.group(2).startswith("week") else count


# Words that make the rest of a question a topic ("a movie about a shark"), not a title.
_TOPIC_MARKER = re.compile(r"\b(about|with an?|featuring|involving|where|in which|set in)\b")
# How many are asked for ("name three", "a few"), and units: no topic.
_COUNTS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|few|couple)\b")
_UNITS = re.compile(r"\b(minutes?|mins?|hours?|hrs?|dollars?|bucks?|cents?)\b")
# The slots read off a question by pattern: their words are no topic.
_SLOT_PATTERNS = (
    _RATING, _STREAMING, _STORE, _HOW_MANY, _BOUND, _UNITS, _COUNTS, _CUSTOMER, _FEATURES,
    _EXACT_PRICE, _YEAR, _DECADE,
    _DAYS, _ROUGHLY, _SAME_BOUND, *(p for _, p in SORTS)
)  # fmt: skip


def _slot_words(text: str) -> set[str]:
    return {
        w
        for pattern in _SLOT_PATTERNS
        for match in pattern.finditer(text)
        for w in WORD.findall(match.group(0).lower())
    }


@dataclass(frozen=True)
class _Words:
    """The question's words that are not the catalogue's names, with their stems."""

    stems: dict[str, Stem]
    # Words that one film's description holds together ("crocodile", "pastry", "chef"): a
    # film recalled by its story, however long the sentence around them.
    plot: tuple[str, ...] = ()
    story: frozenset[str] = frozenset()  # the stems the films' descriptions use

    def in_stories(self, said: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(w for w in said if self.stems[w].stem in self.story)

    def of(self) -> frozenset[str]:
        return frozenset(s.stem for s in self.stems.values())

    def without(self, said: set[str]) -> "_Words":
        return replace(self, stems={w: s for w, s in self.stems.items() if w not in said})

    def topic(self, index: IntentIndex, intent: IntentName, text: str) -> tuple[str, ...]:
        """The content words that say nothing of what is asked: what it is about."""
        taken = _slot_words(text)
        return tuple(
            w
            for w, s in self.stems.items()
            if s.content
            and not index.asks(s.stem, intent)
            and w not in taken
            and w not in CATEGORY_SYNONYMS
            and w not in _SAY_NOTHING
            and not w.isdigit()
            and len(w) > 2
        )


# Words that say nothing of a topic: chat ("cool, what's the longest one of those", "pls") and
# things in general ("what pg-13 stuff do you have").
_SAY_NOTHING = frozenset(
    {"cool", "okay", "great", "nice", "awesome", "lol", "pls", "plz", "please", "thanks", "thx",
     "hmm", "hey", "wow", "yeah", "sure", "alright", "stuff", "something", "anything", "thing",
     "things", "ones", "options", "choices", "haha", "ok", "guys", "ya", "well"}
)  # fmt: skip


def _naming_words(linked: Linked, category: str | None) -> set[str]:
    """The words of the names a question is taken to name (a category only when taken)."""
    if category is None:
        return set(linked.naming_words)
    return set(linked.naming_words | linked.category_words)


async def _words(db: Database, text: str, linked: Linked, index: IntentIndex) -> _Words:
    naming = _naming_words(linked, _category(linked, text))
    namesakes = {w for n in linked.actor_namesakes for w in WORD.findall(n.lower())}
    # "what's", "i'm": their parts ("what", "s") are the words.
    said = [part for w in WORD.findall(text) for part in w.split("'") if part]
    # A number that is no slot's ("15% of 80") is a word no phrasing has: it counts against
    # every intent.
    slots = _slot_words(text)
    words = [
        w
        for w in dict.fromkeys(said)
        if w not in naming
        and w not in namesakes
        and not (w.isdigit() and w in slots)
        and not w.startswith("$")
    ]
    typos = {w: fix for w in words if (fix := index.misspelt(w))}
    found = await stems(db, words) if words else {}
    # A typo of a phrasing's word counts as that word, and is no topic.
    return _Words(
        {
            w: Stem(index.word_stems[typos[w]], content=False) if w in typos else found[w]
            for w in words
        }
    )


def _with_person_back(linked: Linked, text: str, context: Context) -> Linked:
    """The actor that "she" or "he" stands for when the question names none: the one the
    conversation was last about, unless it was about a customer or a member of staff (their
    questions are others)."""
    previous = context.previous
    about_people = previous is not None and (
        previous.intent in CUSTOMER_INTENTS or previous.intent in _ABOUT_STAFF
    )
    if linked.actors or linked.customers or linked.staff or about_people:
        return linked
    if context.actor is None or not _ONE_PERSON.search(text):
        return linked
    return replace(linked, actors=(context.actor,))


def _asks_of_something_else(text: str, best: IntentName, nearness: float) -> bool:
    """A question about something other than our films, though it may say a rating or a
    category: one nearest a general phrasing that asks for no films ("what does NC-17 mean
    exactly"), or one that asks for a thing that is not a film ("a podcast about film
    history", "snacks for a horror movie night")."""
    asks_the_store = _ASKS_FOR_FILMS.search(text) or _OF_THE_STORE.search(text)
    if best == "general" and nearness >= NEAR_ENOUGH and not asks_the_store:
        return True
    before_topic = _TOPIC_MARKER.split(text, maxsplit=1)[0]  # "a film about books" is a film
    return any(word in NOT_FILMS for word in WORD.findall(before_topic))


def _together(actors: tuple[str, ...]) -> tuple[str, ...] | None:
    """Several actors named, each by names of their own ("uma wood and matthew carrey"): films
    with all of them. (Names that share a word are one name matched twice, with typos.)"""
    words = [set(name.split()) for name in actors]
    if len(actors) < 2 or any(a & b for i, a in enumerate(words) for b in words[i + 1 :]):
        return None
    return actors


def _with_bounds_of(query: FilmQuery, earlier: FilmQuery) -> FilmQuery:
    """This search with the lengths and prices of an earlier one ("comedies that short")."""
    bounds = ("min_length", "max_length", "min_price", "max_price")
    return replace(query, **{name: getattr(earlier, name) for name in bounds})


def _rating_back(text: str, previous: "Understanding | None") -> str | None:
    """The rating that "rated that", "the same rating" or "those" stands for: the previous
    question's, though that one was a general question ("what does pg-13 mean")."""
    if previous is None:
        return None
    # ... or "how many of those do u have" after "what does pg-13 mean" (no films then).
    those_rated = _THEM.search(text) and previous.films is None and previous.film is None
    if not (_THAT_RATING.search(text) or those_rated):
        return None
    return _rating(previous.question)


def _someones_rentals(text: str) -> bool:
    """Whether one person's rentals are asked of ("what has my neighbour been renting")."""
    match = _SOMEONES_RENTALS.search(text)
    if match is None:
        return False
    subject = set(WORD.findall(match.group(1)))
    return bool(subject) and not subject & _NO_ONE


def _someones_contact(text: str) -> bool:
    """Whether one person's contact details are asked for ("can u give me mary smith's email")."""
    match = _SOMEONES_CONTACT.search(text)
    if match is None:
        return False
    subject = set((match.group(1) or match.group(2) or "").split())
    return bool(subject) and not subject & (_NOT_A_PERSON | _NO_ONE)


def _owned(words: _Words, index: IntentIndex, intent: IntentName) -> bool:
    """Whether a word of the question is one only `intent`'s phrasings (and general ones) use:
    "oscar" is asked of awards, "today" of stock as much as of opening hours."""
    others = [v for n, v in index.vocabulary.items() if n not in (intent, "general")]
    mine = index.vocabulary.get(intent, frozenset())
    return any(stem in mine and not any(stem in v for v in others) for stem in words.of())


def _language_said(linked: Linked, film: str) -> bool:
    """A language named beside a film, not as a word of its title."""
    title = film.lower().split()
    return any(language.lower() not in title for language in linked.languages)


def _bare_rating(text: str, previous: "Understanding | None") -> str | None:
    """ "what about R?" after a search: the rating letter alone."""
    if previous is None or previous.films is None:
        return None
    match = _BARE_RATING.search(text.lower())  # as said: "r" is read as "are" elsewhere
    return match.group(1).upper() if match else None


_WH = re.compile(r"\b(who|whos|what|whats|why|how|when|where|which)\b")
# Words no phrasing uses, at most this many, make a bare title ("oppenheimer dvd?").
_BARE_TITLE_WORDS = 3


def _bare_title(words: _Words, index: IntentIndex) -> tuple[str, ...]:
    """The words of a title said with only a film word beside it ("oppenheimer dvd?",
    "the godfather on dvd"), or none."""
    unknown = tuple(
        w
        for w, s in words.stems.items()
        if s.content and s.stem not in index.weights and not w.isdigit() and len(w) > 2
    )
    rest = [(w, s) for w, s in words.stems.items() if w not in unknown]
    film_word = any(_FILM_NOUN.fullmatch(w) for w, _ in rest)
    only_film_words = all(not s.content or _FILM_NOUN.fullmatch(w) for w, s in rest)
    if film_word and only_film_words and 0 < len(unknown) <= _BARE_TITLE_WORDS:
        return unknown
    return ()


def _replied(
    ranked: list[tuple[IntentName, float]], words: _Words, index: IntentIndex
) -> IntentName | None:
    """A refusal (an intent answered the same whatever is asked), if asked: near, or said by a
    word only its phrasings use ("password") and near enough. Refusing a little too often is
    safe; answering a password question with a customer's card is not."""
    for name, score in ranked:
        if not BY_NAME[name].reply:
            continue
        own_word = any(index.owns(stem, name) for stem in words.of())
        if score >= _WEAK or (own_word and score >= NEAR_ENOUGH):
            return name
    return None


def understand(
    question: str, linked: Linked, words: _Words, index: IntentIndex, context: Context
) -> Understanding:
    """Read a question, given what it names in the catalogue, its other words, the intents'
    phrasings, and the conversation so far."""
    text = normalised(question)
    previous = context.previous
    linked = _with_person_back(linked, text, context)
    base = Understanding(question=question, linked=linked)
    continues = bool(_CONTINUES.search(text))
    refers_back = continues or bool(_REFERS_BACK.search(text))
    if joined := _CONNECTIVE.search(text):
        words = words.without(set(WORD.findall(joined.group(0))))
    ranked = sorted(index.scores(words.of()).items(), key=lambda kv: -kv[1])
    if not _PEOPLE.search(text):  # "which films get rented the most": no customers asked of
        ranked = [(name, score) for name, score in ranked if not BY_NAME[name].of_people]
    best, nearness = ranked[0] if ranked else ("general", 0.0)
    topic = words.topic(index, best, text)
    store_ranked = (name for name, score in ranked if name != "general" and score >= NEAR_ENOUGH)
    base = replace(base, nearest_store=next(store_ranked, None))

    if reply := _replied(ranked, words, index):
        return replace(base, intent=reply)  # "whats jon stephens password", "and his password?"
    asks_the_store = bool(_ASKS_FOR_FILMS.search(text) or _OF_THE_STORE.search(text))
    of_the_world = _DEFINITION.search(text) or _OF_THE_WORLD.search(text)
    if _NOT_THE_STORE.search(text) or (
        of_the_world
        and not (linked.films or linked.actors or asks_the_store or _OUR_FILMS.search(text))
    ):
        return base  # "... not asking what you stock, just in general", "what does X mean"
    customer = _CUSTOMER.search(text)
    catalogue_named = bool(linked.films or linked.actors or linked.categories)
    # "what's your most rented film": films in an order, of no one, however near a customer's
    # rentals are.
    of_no_one = not (_PEOPLE.search(text) or _PERSON_BACK.search(text) or linked.customers)
    films_ordered = bool(_FILM_NOUN.search(text)) and any(p.search(text) for _, p in SORTS)
    of_customer = (
        best in CUSTOMER_INTENTS and nearness >= NEAR_ENOUGH and not (of_no_one and films_ordered)
    )
    if _SAYS_CUSTOMER.search(text) and not BY_NAME[best].of_people:
        # "the phone number for your customer dorothy taylor": a customer's, though the
        # store's phone is about as near.
        of_customer = of_customer or any(
            name in CUSTOMER_INTENTS and score >= max(NEAR_ENOUGH, _FALLBACK * nearness)
            for name, score in ranked
        )
    # Someone's rentals ("what has my neighbour john farnsworth been renting"): a customer's,
    # whoever is named; a guest is refused alike whether or not the name is a customer's.
    someones = (
        _someones_rentals(text)
        or _someones_contact(text)
        # "whats the email of ur customer barbara jones": a customer's, said so.
        or bool(_SAYS_CUSTOMER.search(text) and _CONTACT.search(text))
    ) and not linked.films
    asks_customer = (of_customer and not catalogue_named) or someones
    # A customer named, unless the name is an actor's too and customers are not asked about
    # ("jennifer davis, which store is she signed up with": a customer's).
    said_customer = asks_customer or bool(_SAYS_CUSTOMER.search(text))
    named = (
        linked.customers[0] if linked.customers and (said_customer or not linked.actors) else None
    )
    earlier = context.customer_id
    # ... but "how much is the latest one" is about the film the answer named first.
    of_their_rentals = bool(_PERSON_BACK.search(text)) or (refers_back and best not in FILM_INTENTS)
    # ... and "and who paid the most" asks for the top ones again, not of the one before.
    follows_customer = (
        earlier is not None
        and not linked.films
        and of_their_rentals
        and best not in TOP_CUSTOMERS_BY
    )
    if customer or named or asks_customer or follows_customer:
        # "what did customer 5 rent", "what has mary smith rented lately", and then "what's
        # her email", "is any of it still out": the customer just talked about.
        customer_id = int(customer[1]) if customer else named or earlier
        # A customer is asked about: what of them is the nearest of the customer intents,
        # however near another kind of question is ("which store is she registered at").
        of_customers = [name for name, _ in ranked if name in CUSTOMER_INTENTS]
        intent = of_customers[0] if of_customers else "customer_rentals"
        counted = next((s for n, s in ranked if n == "customer_count"), 0.0) >= NEAR_ENOUGH
        if customer_id is None and counted and _HOW_MANY.search(text) and not _CONTACT.search(text):
            # "how many customers are signed up at woodridge": customers counted, no one's.
            store_id = linked.stores[0] if linked.stores else _store(text)
            return replace(base, intent="customer_count", store_id=store_id)
        return replace(base, intent=intent, customer_id=customer_id)

    of_a_store_before = previous and (previous.intent in _OF_A_STORE or previous.film)
    if previous and of_a_store_before and continues and nearness < _WEAK:
        # "and the other one?", "and woodridge?" after a store's manager or a film's copies
        # there: the same question, of that store.
        store_id = linked.stores[0] if linked.stores else _store(text, context.store_id)
        if store_id is not None and not (linked.films or linked.actors):
            return replace(previous, question=question, linked=linked, store_id=store_id)

    # What is asked of a film: the nearest film intent, and any about as near ("how long is
    # it and what is it rated").
    of_film = [(name, score) for name, score in ranked if name in FILM_INTENTS]
    asked_of_film = tuple(
        name for name, score in of_film if score >= max(NEAR_ENOUGH, _ALSO_ASKED * of_film[0][1])
    )
    # ... unless a special feature is named: "films with director commentaries" asks for one.
    feature = _feature(text)
    unheld = BY_NAME[best].unheld is not None and nearness >= NEAR_ENOUGH and feature is None
    actor = linked.actors[0] if linked.actors else None

    if not linked.films and not feature and (_OF_THE_STORE.search(text) or _OUR_FILMS.search(text)):
        # What the database does not hold, asked of our films as a whole ("have any of the
        # films you carry won an oscar"): said so, by a word only that question's phrasings
        # use.
        for name, score in ranked:
            if BY_NAME[name].unheld and score >= NEAR_ENOUGH and _owned(words, index, name):
                return replace(base, intent=name)

    compared = next((name for name, pattern in SORTS if pattern.search(text)), None)
    if len(linked.films) >= 2 and compared is not None:
        # "which is longer, african egg or jaws harry": the films named, in that order.
        among = FilmQuery(titles=linked.films, sort=compared)
        return replace(base, intent="find", films=among, seeks_films=True)
    film = linked.films[0] if linked.films else None
    if film and (not actor or asked_of_film):
        # A film, named: what about it? (With an actor named too, only if something is asked
        # about the film; else the actor's films.)
        if unheld:
            return replace(base, intent=best, film=film)
        base = replace(
            base, store_id=linked.stores[0] if linked.stores else _store(text, context.store_id)
        )
        weakly_asked = not asked_of_film or of_film[0][1] < _WEAK
        if weakly_asked and continues and previous and previous.film_intents:
            asked_of_film = previous.film_intents  # "and in ARMY FLINTSTONES?", "and for X?"
        elif best in _COPIES and nearness >= NEAR_ENOUGH:
            # Copies counted, of a film named: its copies ("total copies of family sweet
            # between both stores").
            asked_of_film = ("availability",)
        elif not asked_of_film and of_film and of_film[0][1] >= _FAINT:
            # "can i rent alice fantasia from either of ur stores": faintly, but most nearly,
            # its stock.
            asked_of_film = (of_film[0][0],)
        if feature is not None:  # "a directors commentary": the film's features, not a director
            asked_of_film = tuple(n for n in asked_of_film if BY_NAME[n].unheld is None)
        intents = asked_of_film or ("price",)
        if "language" not in intents and _language_said(linked, film):
            intents = ("language", *intents)  # "is anthem luke in english or subtitled"
        return replace(base, intent=intents[0], film=film, film_intents=intents)

    together = _together(linked.actors)
    query = FilmQuery(
        category=_category(linked, text),
        rating=_rating(question)
        or _rating_back(text, previous)
        or _bare_rating(question, previous),
        actor=None if together else actor,
        actors=together,
        streaming=True if _STREAMING.search(text) else None,
        sort=next((name for name, pattern in SORTS if pattern.search(text)), None),
    )
    max_price, min_price, min_length, max_length = _bounds(text)
    if min_length is None and max_length is None:
        min_length, max_length = _roughly(text)
    if max_price is None and min_price is None and (exact := _EXACT_PRICE.search(text)):
        dollars, cents = exact.groups()
        min_price = max_price = Decimal(dollars) if dollars else Decimal(cents) / 100
    query = replace(
        query,
        max_price=max_price,
        min_price=min_price,
        min_days=_days(text),
        feature=feature,
        # A language is a film's only next to a film word ("french films", not "say thank
        # you in japanese").
        language=linked.languages[0] if linked.languages and _FILM_WORDS.search(text) else None,
        min_length=min_length,
        max_length=max_length,
    )
    # Of films asked for: not "who directed the original halloween from 1978".
    if _FILM_WORDS.search(text) or query.category:
        min_year, max_year = _years(text)
        query = replace(query, min_year=min_year, max_year=max_year)
    if previous and previous.films and _SAME_BOUND.search(text):
        # "what about comedies that short": the lengths and prices the previous search had.
        query = _with_bounds_of(query, previous.films)
    narrowed = replace(query, sort=None) != FilmQuery()  # more than an order
    count = bool(_HOW_MANY.search(text))
    superlative = bool(_SUPERLATIVE.search(text))
    # Asks for films outright: a search that finds nothing is then a no; otherwise the words
    # were not placed in the catalogue, and the question is the general agent's.
    seeks = (
        bool(_ASKS_FOR_FILMS.search(text) or _ABOUT.search(text))
        or narrowed
        or best in {"availability", "price"}
        # Nearest to asking for films, and saying films: "is brad pitt in any of your movies".
        or (best == "find" and nearness >= NEAR_ENOUGH and bool(_FILM_NOUN.search(text)))
    )
    found = replace(base, intent="find", count=count, superlative=superlative, seeks_films=seeks)
    earlier_search = previous.films if previous and previous.films else None
    if earlier_search is None and continues and superlative:
        earlier_search = context.search  # "and the shortest one?", a film's question between
    context_film = context.films[0] if context.films else None

    if (in_title := _IN_TITLE.search(text)) and not linked.films:
        # "any movies with rocky in the title": those words, in titles only.
        said = in_title.group(1) or in_title.group(2)
        titled = replace(query, title=said, text=None)
        return replace(found, films=titled, superlative=False, seeks_films=True)
    told = words.in_stories(topic)
    if earlier_search and earlier_search.text and continues and told and not catalogue_named:
        # "what about a squirrel?" after films about a shark: the same search, of squirrels.
        retold = replace(earlier_search.refined(query), text=" ".join(told))
        return replace(found, films=retold, seeks_films=True)
    # "how many" after a list: the films that search found, counted (not a film's copies).
    counts_the_list = (
        earlier_search is not None
        and count
        and query == FilmQuery()
        and not (topic or linked.films or linked.actors or linked.stores)
        and not _OF_A_THING.search(text)
    )
    if counts_the_list:
        return replace(found, films=earlier_search, superlative=False)
    # A follow-up that narrows the films just found: "only the ones under an hour", "which of
    # those is the cheapest", "what about PG?".
    if earlier_search and _NAME_SOME.search(text):
        # "name a couple", after "how many of them are rated R": those films, listed.
        return replace(found, films=earlier_search.refined(query), count=False)
    # "which is the longest"; "something under an hour pls" (bounds alone, no kind of film):
    # the films just found, narrowed.
    bounds_alone = (
        narrowed
        and query.category is None
        and query.actor is None
        and not _FILM_NOUN.search(text)
        and not topic
    )
    follows_on = refers_back or (superlative and not narrowed) or bounds_alone
    if earlier_search and follows_on and (query != FilmQuery() or best == "find") and not topic:
        return replace(found, films=earlier_search.refined(query))
    if superlative and refers_back and len(context.recent_films) >= 2 and not narrowed:
        # "which one is longer", of the films the last turns were each about.
        among = FilmQuery(titles=context.recent_films, sort=query.sort)
        return replace(found, films=among, count=False)
    if words.plot:
        # "a movie where a crocodile and a pastry chef are in it together": its story.
        story = replace(query, text=" ".join(words.plot), sort=None)
        return replace(found, films=story, count=False, superlative=False, seeks_films=True)
    if not (linked.films or linked.actors) and _asks_of_something_else(text, best, nearness):
        return base  # "what does PG-13 mean", "any books like the hobbit": not our films
    terms = next((score for name, score in ranked if name == "rental_terms"), 0.0)
    if _RANGE.search(text) and not narrowed and terms >= NEAR_ENOUGH:
        return replace(base, intent="rental_terms")  # "the range of rental prices"
    # Films by what they are, or in an order ("the shortest film", "cheap ones please").
    ordered = query.sort is not None and (best == "find" or superlative or _FILM_WORDS.search(text))
    # ... unless a list of people is asked for ("who rents the most from us").
    a_list = nearness >= _SURE or (BY_NAME[best].of_people and nearness >= _WEAK)
    if (narrowed or ordered) and not (best in _LISTS and a_list and not actor):
        # Beside other filters, a word no film's story uses is chat ("for the kids this
        # weekend, ideally"), unless said to be what the films are about ("about a xylophone").
        if narrowed:
            marked = _TOPIC_MARKER.search(text)
            said_about = set(WORD.findall(text[marked.end() :])) if marked else set()
            topic = tuple(w for w in topic if w in said_about or w in words.in_stories(topic))
        return replace(found, films=replace(query, text=" ".join(topic) or None))
    # "which country is the store mike hillyer runs in": the store's, found by its manager.
    of_their_store = best in _OF_THE_STORES and nearness >= _WEAK
    if linked.staff and best not in FILM_INTENTS and not BY_NAME[best].reply and not of_their_store:
        return replace(base, intent="staff")  # "which store is mike at"
    # Words some question is phrased with ("across") are no topic of their own here.
    unphrased = [w for w in topic if words.stems[w].stem not in index.weights]
    if unphrased and best in _STORE_WIDE:
        # Words left over that a store-wide answer would ignore: a question about a film
        # nearly as near takes them ("is zebra mystique in stock at the lethbridge store");
        # else, if only weakly near, it is not about the store ("how many legs does a spider
        # have").
        if of_film and of_film[0][1] >= _ALSO_ASKED * nearness:
            best, nearness = of_film[0]
        elif nearness < _WEAK and not linked.stores:
            return base
    general = next((score for n, score in ranked if n == "general"), 0.0)
    nothing_named = not (linked.films or linked.actors or linked.stores or linked.staff)
    if nothing_named and query == FilmQuery() and general >= _ALSO_ASKED * nearness:
        best, nearness = "general", general  # "whats the book dune about"
    # ... but not "who invented the dvd": a question of its own.
    bare = nearness < NEAR_ENOUGH and not _TOPIC_MARKER.search(text) and not _WH.search(text)
    if bare and nothing_named and query == FilmQuery() and (title := _bare_title(words, index)):
        # "oppenheimer dvd?": a title we could not place, with a film word and nothing else
        # asked: looked for, so that the answer is the store's (a no), never a guess.
        films = FilmQuery(text=" ".join(title))
        return replace(found, films=films, count=False, superlative=False, seeks_films=True)
    # A store named: a question about a store about as near is the one asked, and near
    # enough even if faint ("where's the canada one").
    of_store = next(((n, score) for n, score in ranked if n in _OF_A_STORE), None)
    # ... but not "is zebra mystique in stock at ...": a film we could not place.
    unplaced = bool(topic) and best in FILM_INTENTS
    store_asked = linked.stores and not linked.films and not unplaced and best not in _OF_A_STORE
    if store_asked and of_store and of_store[1] >= max(_FAINT, _ALSO_ASKED * nearness):
        best, nearness = of_store
    of_a_store_named = bool(linked.stores) and best in _OF_A_STORE and nearness >= _FAINT
    if (nearness < NEAR_ENOUGH and not of_a_store_named) or best == "general":
        return base
    if BY_NAME[best].reply:
        return replace(base, intent=best)  # "whats jon stephens password i need to log in"
    if unheld:
        film = context_film if refers_back else None
        if film is None and BY_NAME[best].needs_film:
            return base  # "who won the oscar for best picture": not about our films
        return replace(base, intent=best, film=film)
    if best in FILM_INTENTS:
        if best in _ON_A_LIST_LINE and len(context.films) >= 2 and _THEM.search(text):
            # "how much are they to rent", of the films just listed: each film's line says it.
            listed = FilmQuery(titles=context.films)
            return replace(found, films=listed, count=False, superlative=False, seeks_films=True)
        if context_film and (refers_back or not topic):
            intents = asked_of_film or (best,)
            return replace(base, intent=intents[0], film=context_film, film_intents=intents)
        # No film to ask it of: the nearest question about the store as a whole, if it is
        # nearer than a general one ("how much is a rental", "and how many actors"; not "tell
        # me a story").
        wide = [
            (n, score)
            for n, score in ranked
            if n in _STORE_WIDE | {"general"} and score >= NEAR_ENOUGH
        ]
        # A film asked for that we could not place: look for it by its words ("how much is
        # velvet pancake"). Words that only phrase questions ("what genres do you carry") make
        # no title when a store-wide question is about as near.
        title = words.topic(index, "find", text)
        phrased = all(words.stems[w].stem in index.weights for w in title)
        wide_is_near = bool(wide) and wide[0][1] >= _FALLBACK * nearness
        seeks_film = (
            best in {"price", "availability"}
            or _FILM_WORDS.search(text)
            or _ASKS_FOR_FILMS.search(text)
        )
        title_words = " ".join(title)
        # "how many different actors have you got across all the films": a count of the store
        count_of_store = wide_is_near and count
        if title and seeks_film and not (phrased and wide_is_near) and not count_of_store:
            about = bool(_TOPIC_MARKER.search(text))
            films = FilmQuery(text=title_words) if about else FilmQuery(title=title_words)
            return replace(found, films=films, count=False, superlative=False, seeks_films=True)
        if not wide or wide[0][0] == "general":
            return base
        best = wide[0][0]
    if best == "find":
        if topic:
            return replace(found, films=FilmQuery(text=" ".join(topic)))
        if linked.actor_namesakes:
            return replace(base, intent="find")
        return replace(found, films=FilmQuery(sort="popular"))
    store_id = linked.stores[0] if linked.stores else _store(text, context.store_id)
    if store_id is None and best in _OF_A_STORE | {"totals"}:
        store_id = context.store_id  # "who runs the canadian one" -> "how many dvds are there"
    film_before = previous.film if previous else None
    if best in _COPIES and film_before and not _WHOLE.search(text):
        # "how many copies are at the woodridge store", right after a film: that film's.
        stock: tuple[IntentName, ...] = ("availability",)
        return replace(
            base, intent="availability", film=film_before, film_intents=stock, store_id=store_id
        )
    if best == "totals" and store_id is not None:
        best = "store_copies"  # "how many dvds does the lethbridge store have altogether"
    return replace(base, intent=best, store_id=store_id, count=count)


async def read(
    db: Database, question: str, context: Context | None = None, *, staff: bool = False
) -> Understanding:
    """Link the question to the catalogue, stem what is left, then read it. Customers' names
    are linked for staff only: a guest's question must not tell a customer's name from
    another."""
    index = await intent_index(db)
    said = normalised(question[:QUESTION_READ_CHARS])
    linked = await link(db, question[:QUESTION_READ_CHARS], frozenset(index.word_stems))
    if not staff:
        linked = replace(linked, customers=())
    words = replace(await _words(db, said, linked, index), story=await _story_stems(db))
    if not linked.films and (_FILM_NOUN.search(said) or _ANYTHING_WITH.search(said)):
        # A film asked for by what happens in it: the words of its story that one film's
        # description holds (two at least: one word alone is a topic, not a plot).
        story = words.topic(index, "find", said)
        if len(story) >= _PLOT_WORDS:
            found = await plot_words(db, list(story))
            words = replace(words, plot=tuple(found) if len(found) >= _PLOT_WORDS else ())
    return understand(question, linked, words, index, context or Context())


async def read_conversation(
    db: Database, turns: list[tuple[str, str]], question: str, *, staff: bool = False
) -> Understanding:
    """Read `question` after `turns` (each an earlier question and its answer, oldest first):
    the last few earlier questions are read again, each in the light of the one before."""
    context = Context()
    for asked, answered in turns[-_TURNS_READ_AGAIN:]:
        previous = await read(db, asked, context, staff=staff)
        named = tuple(await titles_in(db, answered))
        context = Context(
            previous=previous,
            films=named or context.films,
            actor=await _actor_of(db, previous, answered) or context.actor,
            store_id=_store_of(previous) or context.store_id,
            recent_films=_recent_films(named, context.recent_films),
            customer_id=_customer_of(previous, answered),
            search=previous.films or context.search,
        )
    return await read(db, question, context, staff=staff)


async def _actor_of(db: Database, asked: Understanding, answered: str) -> str | None:
    """The actor a turn was about: the one its question named or searched by, else the one
    its answer named, if only one ("who's in shock cabin": "... stars Laura Brody")."""
    if asked.linked.actors:
        return asked.linked.actors[0]
    if asked.films is not None and asked.films.actor:
        return asked.films.actor
    named = await actors_in(db, answered)
    return named[0] if len(named) == 1 else None


def _recent_films(named: tuple[str, ...], earlier: tuple[str, ...]) -> tuple[str, ...]:
    """A turn whose answer named one film adds it; one that named several or none starts
    afresh (a list is compared by refining its search instead)."""
    if len(named) != 1:
        return ()
    return tuple(dict.fromkeys((named[0], *earlier)))[:_TURNS_READ_AGAIN]


def _customer_of(asked: Understanding, answered: str) -> int | None:
    """The customer a turn was about: the one asked of, the first of a list of the top ones
    ("who's our best customer", then "how many rentals has he made"), else the only one its
    answer named."""
    if asked.intent in CUSTOMER_INTENTS:
        return asked.customer_id
    if asked.intent in TOP_CUSTOMERS_BY and (first := _CUSTOMER.search(answered.lower())):
        return int(first[1])
    named = set(_CUSTOMER.findall(answered.lower()))
    return int(named.pop()) if len(named) == 1 else None


def _store_of(asked: Understanding) -> int | None:
    """The one store a turn was about, if any."""
    if asked.store_id is not None:
        return asked.store_id
    return asked.linked.stores[0] if len(asked.linked.stores) == 1 else None


# How much of a question is read: a question is at most 2000 characters, an earlier one sent
# back may be 4000; words past this say nothing a follow-up needs, and each costs a typo check.
QUESTION_READ_CHARS = 600
# Earlier questions read again for a follow-up: enough for "dramas" -> "rated R" -> "under an
# hour" -> "the cheapest of those".
_TURNS_READ_AGAIN = 3
