"""How faithful a summary is to the catalogue: a deterministic score, no model involved.

A summary's content words (everything but function words and a short list of words any film
summary may use, like "film" or "story"), numbers included, are looked up in the film's facts:
title, description, category, rating, release year, length, rate and cast. The score is the
share found. Capitalised words that are not sentence openings are names: a name that is not in
the facts is listed, because an invented name is the most misleading kind of invention.
Words are compared by a crude stem ("scientists" ~ "scientist", "battles" ~ "battle").
"""

import re
from dataclasses import dataclass

from features.ai_summary.dtos import FilmFacts

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+(?:\.\d+)?")
_SENTENCE_END = re.compile(r"[.!?:;]")

# Words that carry no claim about a film: articles, pronouns, auxiliaries, prepositions,
# conjunctions, and the vocabulary of describing any film at all.
_FUNCTION_WORDS = frozenset(
    """
    a an the this that these those it its it's they them their there here he him his she her
    hers we our you your who whom whose which what when where why how one ones
    is are was were be been being am has have had having do does did done will would can could
    shall should may might must
    of in on at to from by with without for about into onto over under between through during
    against among across after before around as than then so too very also not no nor or and
    but if while because both either neither each every all any some such only just even
    up down out off again once more most much many few other another own same
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_FILM_WORDS = frozenset(
    """
    film films movie movies story stories tale tales plot feature features featuring starring
    star stars cast actor actors actress role roles rated rating min mins minute minutes long
    length released release year runs running rent rental rate price dollar dollars cent cents
    viewer viewers audience audiences watch follows follow genre category title called named
    """.split()  # noqa: SIM905
)
_IGNORED = _FUNCTION_WORDS | _FILM_WORDS


def _stem(word: str) -> str:
    word = word.lower().strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)] + replacement
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word  # battle ~ battling


def _vocabulary(facts: FilmFacts) -> frozenset[str]:
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
    return frozenset(_stem(w) for text in texts for w in _WORD.findall(text))


@dataclass(frozen=True)
class Faithfulness:
    score: float  # share of the summary's content words found in the facts, 0..1
    content_words: int
    unsupported: tuple[str, ...]  # content words not in the facts, in order of appearance
    unsupported_names: tuple[str, ...]  # of those, the capitalised ones (names)


def faithfulness(summary: str, facts: FilmFacts) -> Faithfulness:
    known = _vocabulary(facts)
    words: list[tuple[str, bool]] = []  # (word, is a name)
    previous_end = 0
    for match in _WORD.finditer(summary):
        word = match.group()
        sentence_start = previous_end == 0 or bool(
            _SENTENCE_END.search(summary, previous_end, match.start())
        )
        previous_end = match.end()
        # A capital not at a sentence start, or an all-capitals word (Pagila's titles), is a name.
        is_name = word[0].isupper() and (not sentence_start or (word.isupper() and len(word) > 1))
        if word.lower() not in _IGNORED:
            words.append((word, is_name))
    if not words:
        return Faithfulness(score=0.0, content_words=0, unsupported=(), unsupported_names=())
    missing = [(w, name) for w, name in words if _stem(w) not in known]
    return Faithfulness(
        score=round(1 - len(missing) / len(words), 4),
        content_words=len(words),
        unsupported=tuple(w for w, _ in missing),
        unsupported_names=tuple(w for w, name in missing if name),
    )
