"""How faithful a summary is to the catalogue: a deterministic score, no model involved.

A summary's content words (all but English's stop words and a short list of words any film
summary may use, like "film" or "story"), numbers included, are looked up in the film's facts:
title, description, category, rating, release year, length, rate and cast. The score is the
share found. Capitalised words that are not sentence openings are names: a name that is not in
the facts is listed, because an invented name is the most misleading kind of invention.
Words are compared by their stems ("scientists" ~ "scientist", "battling" ~ "battle"), and
stop words known, by PostgreSQL's English dictionaries, as full-text search and the assistant
compare them (one read for both lists of words).
"""

import re
from dataclasses import dataclass

from features.ai_summary.dtos import FilmFacts
from features.catalogue.query import stems
from shared.database import Database

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+(?:\.\d+)?")
_SENTENCE_END = re.compile(r"[.!?:;]")

# The vocabulary of describing any film at all: claims about no film in particular.
_ANY_FILM_VOCABULARY = frozenset(
    """
    film films movie movies story stories tale tales plot feature features featuring starring
    star stars cast actor actors actress role roles rated rating min mins minute minutes long
    length released release year runs running rent rental rate price dollar dollars cent cents
    viewer viewers audience audiences watch follows follow genre category title called named
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def _normal(word: str) -> str:
    """Lower case, without a possessive or stray apostrophes and hyphens."""
    return word.lower().strip("'-").removesuffix("'s")


def _fact_words(facts: FilmFacts) -> list[str]:
    texts = [
        facts.title,
        facts.description or "",
        facts.category or "",
        facts.rating or "",
        " ".join(facts.actors),
        str(facts.release_year or ""),
        str(facts.length or ""),
        f"{facts.rental_rate:.2f}",
    ]
    return [_normal(w) for text in texts for w in _WORD.findall(text)]


@dataclass(frozen=True)
class Faithfulness:
    score: float  # share of the summary's content words found in the facts, 0..1
    content_words: int
    unsupported: tuple[str, ...]  # content words not in the facts, in order of appearance
    unsupported_names: tuple[str, ...]  # of those, the capitalised ones (names)


async def faithfulness(db: Database, summary: str, facts: FilmFacts) -> Faithfulness:
    said: list[tuple[str, str, bool]] = []  # (word, its normal form, is a name)
    previous_end = 0
    for match in _WORD.finditer(summary):
        word = match.group()
        sentence_start = previous_end == 0 or bool(
            _SENTENCE_END.search(summary, previous_end, match.start())
        )
        previous_end = match.end()
        # A capital not at a sentence start, or an all-capitals word (Pagila's titles), is a name.
        is_name = word[0].isupper() and (not sentence_start or (word.isupper() and len(word) > 1))
        said.append((word, _normal(word), is_name))
    fact_words = _fact_words(facts)
    found = await stems(db, [*fact_words, *(normal for _, normal, _ in said)])
    known = {found[w].stem for w in fact_words}
    words = [
        (w, n, name) for w, n, name in said if found[n].content and n not in _ANY_FILM_VOCABULARY
    ]
    if not words:
        return Faithfulness(score=0.0, content_words=0, unsupported=(), unsupported_names=())
    missing = [(w, name) for w, n, name in words if found[n].stem not in known]
    return Faithfulness(
        score=round(1 - len(missing) / len(words), 4),
        content_words=len(words),
        unsupported=tuple(w for w, _ in missing),
        unsupported_names=tuple(w for w, name in missing if name),
    )
