"""The catalogue as the assistants read it: what a question names (the linker), a film's
details by title, the categories, the top actors, the rental terms, words' stems (for the
choice of intent), and the titles a text names (for follow-ups). Films by any filters are the
films page's own search (features/films/query.py).

Used by the store assistant's tools and by /ai/ask's grounding. Each call is one read on a
pooled connection, released at once, so no connection is held while a model thinks. The
statements are written by hand (the linker is a shape the query builder would only obscure),
compiled once, and bound by name; a film's details are built by the query builder, from the
expressions every statement uses for a film's category and cast (shared/database/models.py).
"""

import re
from dataclasses import dataclass

from sqlalchemy import Integer, String, bindparam, func, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import col

from features.films import query as films
from shared.database import Database, RowDict, Statement
from shared.database.models import ASSISTANT_STEM, Film, Language, film_cast, film_category_name

LIST_LIMIT = 10  # films named in one answer, at most

# The special features Pagila's films come with (film.special_features).
SPECIAL_FEATURES = ("Trailers", "Commentaries", "Deleted Scenes", "Behind the Scenes")

# Words of a question: letters and digits, with inner hyphens and apostrophes kept
# ("sci-fi", "pg-13", "what's").
WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")

# Ways people name a category, mapped to Pagila's category names (lower case).
CATEGORY_SYNONYMS: dict[str, str] = {
    "comedies": "comedy",
    "funny": "comedy",
    "comedic": "comedy",
    "scary": "horror",
    "horrors": "horror",
    "frightening": "horror",
    "spooky": "horror",
    "creepy": "horror",
    "slasher": "horror",
    "scifi": "sci-fi",
    "sf": "sci-fi",
    "documentaries": "documentary",
    "docs": "documentary",
    "documentry": "documentary",
    "cartoon": "animation",
    "cartoons": "animation",
    "animated": "animation",
    "anime": "animation",
    "kids": "children",
    "kid": "children",
    "kids'": "children",
    "childrens": "children",
    "children's": "children",
    "child": "children",
    "dramas": "drama",
    "dramatic": "drama",
    "classic": "classics",
    "musical": "music",
    "musicals": "music",
    "sport": "sports",
    "foreign-language": "foreign",
    "international": "foreign",
    "actions": "action",
}
# Phrases of several words, replaced before splitting.
PHRASES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bsci(?:ence)?[\s-]?fi(?:ction)?\b"), " sci-fi "),
    (re.compile(r"\bnew (?:releases?|arrivals?|films?|movies?|titles?)\b"), " category-new "),
    (re.compile(r"\bfamily[\s-]friendly\b"), " family "),
)


# Chat shorthand, as the words it stands for.
SHORTHAND = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "ppl": "people",
    "rn": "right now", "thx": "thanks", "ty": "thanks", "bc": "because", "abt": "about",
    "w/": "with", "wat": "what", "wot": "what", "dvdz": "dvds", "flix": "films",
}  # fmt: skip
_SHORTHAND = re.compile(r"(?<![\w'-])(" + "|".join(map(re.escape, SHORTHAND)) + r")(?![\w'-])")


def normalised(question: str) -> str:
    """Lower case, curly apostrophes straightened, chat shorthand spelt out, phrases in their
    one-word forms."""
    text = question.lower().replace("\u2019", "'")
    text = _SHORTHAND.sub(lambda m: SHORTHAND[m.group(1)], text)
    for pattern, replacement in PHRASES:
        text = pattern.sub(replacement, text)
    return text


def word_forms(question: str) -> dict[str, str]:
    """The question's words, lower case, with category synonyms also as their catalogue forms
    ("scary" -> also "horror"): what the linker matches names against (with each word's stem,
    added by its SQL), each with the word it came from."""
    text = normalised(question)
    found: dict[str, str] = {}
    for word in WORD.findall(text):
        forms = [word]
        if word == "category-new":
            forms.append("new")
        if word in CATEGORY_SYNONYMS:
            forms.append(CATEGORY_SYNONYMS[word])
        for form in forms:
            found.setdefault(form, word)
    return found


@dataclass(frozen=True)
class Linked:
    """What the question names in the catalogue, best match first (from the database)."""

    films: tuple[str, ...] = ()  # every title word matched
    actors: tuple[str, ...] = ()  # first and last name matched
    actor_namesakes: tuple[str, ...] = ()  # one of the names matched exactly
    categories: tuple[str, ...] = ()
    stores: tuple[int, ...] = ()  # named by city or country
    staff: tuple[str, ...] = ()  # members of staff, named by either name
    customers: tuple[int, ...] = ()  # named by first and last name (their ids)
    languages: tuple[str, ...] = ()
    # The question's words that named them (as said, typos included): not a topic. A
    # category's words apart: a category word is one only in some questions.
    naming_words: frozenset[str] = frozenset()
    category_words: frozenset[str] = frozenset()


# What the question's words name in the catalogue: films (both title words), actors (first and
# last name), categories. A word matches a name's word when they start with the same letter and
# differ by at most 2 edits (words of 6+ letters), 1 (4-5 letters) or none (shorter): typos, not
# other words; or by one edit more when they also sound alike (double metaphone: "bail" for
# "bale"). Titles and names are split with split_part (two words each in Pagila):
# 3-7 ms for a question (`just eval assistant`: p50 0.04 s for a whole answer).
LINK = Statement(
    text("""
-- Each word as said and as its stem ("dinosaurs" -> "dinosaur", "what's" -> "what"), by the
-- English stemmer of PostgreSQL's search.
WITH words AS (
    SELECT DISTINCT form AS w, said
    FROM unnest(:words, :said) AS u(w, said),
         LATERAL (VALUES (w), ((ts_lexize(CAST(:dictionary AS regdictionary), w))[1])) AS f(form)
    WHERE form IS NOT NULL
),
name_words AS (
    SELECT 'film' AS kind, title AS name, lower(split_part(title, ' ', 1)) AS w,
           array_length(string_to_array(title, ' '), 1) AS n_words
    FROM film
    UNION ALL
    SELECT 'film', title, lower(split_part(title, ' ', 2)),
           array_length(string_to_array(title, ' '), 1)
    FROM film
    UNION ALL
    SELECT 'actor', first_name || ' ' || last_name, lower(first_name), 2 FROM actor
    UNION ALL
    SELECT 'actor', first_name || ' ' || last_name, lower(last_name), 2 FROM actor
    UNION ALL
    SELECT 'category', name, lower(name), 1 FROM category
    UNION ALL  -- a language ("french films")
    SELECT 'language', trim(name), lower(trim(name)), 1 FROM language
    UNION ALL  -- a store by its city, district or country ("the lethbridge store")
    SELECT 'store', s.store_id::text, lower(place), 1
    FROM store AS s JOIN address AS a USING (address_id) JOIN city AS c USING (city_id)
    JOIN country AS co USING (country_id),
    LATERAL (VALUES (c.city), (a.district), (co.country)) AS p(place)
    UNION ALL  -- a customer by first and last name, exactly (the id is the name here)
    SELECT 'customer', customer_id::text, lower(name), 2
    FROM customer, LATERAL (VALUES (first_name), (last_name)) AS n(name)
    UNION ALL  -- a member of staff by either name ("mike")
    SELECT 'staff', first_name || ' ' || last_name, lower(name), 1
    FROM staff, LATERAL (VALUES (first_name), (last_name)) AS n(name)
),
pairs AS (
    SELECT nw.kind, nw.name, nw.n_words, nw.w, q.said,
           CASE WHEN edits <= allowed THEN edits
                WHEN edits <= allowed + 1 AND length(q.w) >= 4
                     AND nw.kind NOT IN ('staff', 'customer', 'language')
                     AND dmetaphone(nw.w) = dmetaphone(q.w) THEN edits END AS distance
    FROM name_words AS nw
    JOIN words AS q ON left(nw.w, 1) = left(q.w, 1) AND abs(length(nw.w) - length(q.w)) <= 2
    CROSS JOIN LATERAL (
        SELECT levenshtein_less_equal(nw.w, q.w, 3) AS edits,
               -- Exact only for names that are short everyday words (staff: "mike" is not
               -- "make"), customers, and languages ("france" is not French); a category by
               -- one edit at most ("actors" is not Action).
               CASE WHEN nw.kind IN ('staff', 'customer', 'language') THEN 0
                    WHEN nw.kind = 'category' AND length(nw.w) >= 4 THEN 1
                    WHEN length(nw.w) >= 6 THEN 2
                    WHEN length(nw.w) >= 4 THEN 1 ELSE 0 END AS allowed
    ) AS d
),
matched AS (
    SELECT kind, name, n_words, w, min(distance) AS distance,
           (array_agg(said ORDER BY distance) FILTER (WHERE distance IS NOT NULL))[1] AS said
    FROM pairs
    GROUP BY kind, name, n_words, w
)
-- Whole: every word of the name matched, each by a word of its own ("strangers" alone is
-- not STRANGER STRANGERS).
SELECT kind, name, count(DISTINCT said) >= n_words AS whole, sum(distance)::int AS distance,
       array_agg(said) AS said,
       -- the words matched with typos ("many" for MONEY): a phrasing's word is no one's typo
       coalesce(array_agg(said) FILTER (WHERE distance > 0), '{}') AS typos
FROM matched
WHERE distance IS NOT NULL
GROUP BY kind, name, n_words
ORDER BY count(DISTINCT said) >= n_words DESC, sum(distance), kind, name
""").bindparams(
        bindparam("dictionary", ASSISTANT_STEM, type_=String),
        bindparam("words", type_=ARRAY(String)),
        bindparam("said", type_=ARRAY(String)),
    )
)

# One film with everything a customer asks about it, its category and cast included.
FILM_DETAILS = Statement(
    select(
        *films.FILM_COLUMNS,
        col(Film.rental_duration),
        col(Film.replacement_cost),
        col(Film.special_features),
        func.trim(col(Language.name)).label("language"),
        film_category_name().label("category"),
        film_cast().label("cast_names"),
    )
    .join_from(Film, Language, col(Language.language_id) == col(Film.language_id))
    .where(func.lower(col(Film.title)) == func.lower(bindparam("title", type_=String)))
)


# The store's terms, as the catalogue states them: each rental rate with its number of films,
# and the range of rental periods (days) and of replacement costs (a lost or damaged copy).
RENTAL_TERMS = Statement(
    text("""
SELECT rental_rate, count(*)::int AS films,
       min(min(rental_duration)) OVER () AS min_days, max(max(rental_duration)) OVER () AS max_days,
       min(min(replacement_cost)) OVER () AS min_replacement,
       max(max(replacement_cost)) OVER () AS max_replacement
FROM film GROUP BY rental_rate ORDER BY rental_rate
""")
)

# The actors in the most films; ties at the cut are all kept (rank, not row number).
TOP_ACTORS = Statement(
    text("""
SELECT name, films FROM (
    SELECT a.first_name || ' ' || a.last_name AS name, count(*)::int AS films,
           rank() OVER (ORDER BY count(*) DESC) AS place
    FROM actor AS a JOIN film_actor AS fa USING (actor_id)
    GROUP BY a.actor_id
) AS ranked
WHERE place <= :limit
ORDER BY films DESC, name
""").bindparams(bindparam("limit", type_=Integer))
)


async def film_details(db: Database, title: str) -> RowDict | None:
    return await db.row(FILM_DETAILS, {"title": title})


# The languages the films are in (not every language on record), most films first.
FILM_LANGUAGES = Statement(
    text("""
SELECT trim(l.name) AS name, count(*)::int AS films
FROM film AS f JOIN language AS l USING (language_id)
GROUP BY l.name
ORDER BY count(*) DESC, l.name
""")
)


async def film_languages(db: Database) -> list[RowDict]:
    return await db.rows(FILM_LANGUAGES)


async def rental_terms(db: Database) -> list[RowDict]:
    return await db.rows(RENTAL_TERMS)


async def top_actors(db: Database, limit: int) -> list[RowDict]:
    return await db.rows(TOP_ACTORS, {"limit": limit})


async def link(db: Database, question: str, common: frozenset[str] = frozenset()) -> Linked:
    """What the question names in the catalogue (one read). `common`: words that say what is
    asked; a title matched with typos by such words alone is no title ("how many titles" is
    not MINE TITANS)."""
    forms = word_forms(question)
    rows = await db.rows(LINK, {"words": list(forms), "said": list(forms.values())})
    whole = [row for row in rows if row["whole"]]
    films = [
        r
        for r in whole
        if r["kind"] == "film"
        and (r["distance"] == 0 or not common.issuperset(r["said"]))
        # "how many dvds does the store hold" is not MONEY HAROLD: a word that phrases
        # questions, matched only with typos, is that word, not a title's.
        and not common.intersection(r["typos"])
    ]
    actors = [r for r in whole if r["kind"] == "actor"]
    if (
        films and actors
    ):  # the closer match wins ("alien center" is not CUBA ALLEN); a tie keeps both
        if films[0]["distance"] < actors[0]["distance"]:
            actors = []
        elif actors[0]["distance"] < films[0]["distance"]:
            films = []
    others = [r for r in whole if r["kind"] in ("store", "staff", "customer", "language")]
    return Linked(
        films=tuple(r["name"] for r in films),
        actors=tuple(r["name"] for r in actors),
        actor_namesakes=tuple(
            r["name"]
            for r in rows
            if r["kind"] == "actor" and not r["whole"] and r["distance"] == 0
        ),
        categories=tuple(r["name"] for r in whole if r["kind"] == "category"),
        stores=tuple(dict.fromkeys(int(r["name"]) for r in whole if r["kind"] == "store")),
        staff=tuple(r["name"] for r in whole if r["kind"] == "staff"),
        customers=tuple(int(r["name"]) for r in whole if r["kind"] == "customer"),
        languages=tuple(r["name"] for r in whole if r["kind"] == "language"),
        naming_words=frozenset(w for r in (*films, *actors, *others) for w in r["said"]),
        category_words=frozenset(w for r in whole if r["kind"] == "category" for w in r["said"]),
    )


# Each word's stem, none dropped (migration 0008), and whether English counts it as a word of
# content (its stop words do not): what a question asks is chosen by the nearest example
# phrasing, compared by stems; the content words that are left make its topic.
_STEMS = Statement(
    text("""
SELECT w AS word, coalesce((ts_lexize(CAST(:dictionary AS regdictionary), w))[1], w) AS stem,
       coalesce(cardinality(ts_lexize('english_stem', w)), 1) > 0 AS content
FROM unnest(:words) AS w
""").bindparams(
        bindparam("dictionary", ASSISTANT_STEM, type_=String),
        bindparam("words", type_=ARRAY(String)),
    )
)

# The catalogue's titles that a text names as written (upper case, as every answer writes
# them), in the order it names them: the films an earlier answer was about.
_TITLES_IN = Statement(
    text("""
SELECT film_id, title FROM film
WHERE strpos(:text, title) > 0
ORDER BY strpos(:text, title), length(title) DESC
""").bindparams(bindparam("text", type_=String))
)


# The actors a text names, as answers write them ("Laura Brody"), first named first.
_ACTORS_IN = Statement(
    text("""
SELECT DISTINCT ON (name) name, strpos(upper(:text), name) AS at
FROM (SELECT first_name || ' ' || last_name AS name FROM actor) AS a
WHERE strpos(upper(:text), name) > 0
ORDER BY name
""").bindparams(bindparam("text", type_=String))
)


# Of the words, the most that one film's title and description hold together: a plot recalled.
_PLOT_WORDS = Statement(
    text("""
SELECT array_agg(w ORDER BY ordinality) AS words
FROM film AS f, unnest(:words) WITH ORDINALITY AS u(w, ordinality)
WHERE f.fulltext @@ plainto_tsquery('english', w)
GROUP BY f.film_id
ORDER BY count(*) DESC, f.film_id
LIMIT 1
""").bindparams(bindparam("words", type_=ARRAY(String)))
)


# The stems the films' descriptions use (about 150: Pagila's stories are made of few words).
_STORY_STEMS = Statement(
    text("SELECT word FROM ts_stat('SELECT to_tsvector(''english'', description) FROM film')")
)


async def story_stems(db: Database) -> frozenset[str]:
    return frozenset(row["word"] for row in await db.rows(_STORY_STEMS))


@dataclass(frozen=True)
class Stem:
    stem: str
    content: bool  # not one of English's stop words


async def stems(db: Database, words: list[str]) -> dict[str, Stem]:
    """Each word's stem (one read)."""
    rows = await db.rows(_STEMS, {"words": list(dict.fromkeys(words))})
    return {row["word"]: Stem(row["stem"], row["content"]) for row in rows}


async def titles_in(db: Database, text_: str) -> list[str]:
    """The titles `text_` names, first named first; a title inside a longer one is the longer."""
    rows = await db.rows(_TITLES_IN, {"text": text_})
    found: list[str] = []
    for row in rows:
        if not any(row["title"] in longer for longer in found):
            found.append(row["title"])
    return found


async def actors_in(db: Database, text_: str) -> list[str]:
    """The actors `text_` names (any case), first named first."""
    rows = await db.rows(_ACTORS_IN, {"text": text_})
    return [row["name"] for row in sorted(rows, key=lambda row: row["at"])]


async def plot_words(db: Database, words: list[str]) -> list[str]:
    """Of `words`, the most that one film's title and description hold together."""
    row = await db.row(_PLOT_WORDS, {"words": words})
    return list(row["words"]) if row else []
