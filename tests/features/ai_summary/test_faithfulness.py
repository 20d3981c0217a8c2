from decimal import Decimal

import pytest

from features.ai_summary.dtos import FilmFacts
from features.ai_summary.faithfulness import faithfulness
from shared.database import Database

# Pagila's film 1, as the summary slice reads it.
ACADEMY_DINOSAUR = FilmFacts(
    title="ACADEMY DINOSAUR",
    description="A Epic Drama of a Feminist And a Mad Scientist who must Battle a Teacher in "
    "The Canadian Rockies",
    release_year=2006,
    rating="PG",
    rental_rate=Decimal("0.99"),
    length=86,
    category="Documentary",
    actors=("Penelope Guiness", "Christian Gable", "Lucille Tracy"),
)


async def test_a_summary_built_from_the_facts_scores_one(database: Database) -> None:
    summary = (
        "ACADEMY DINOSAUR is an epic drama in which a feminist and a mad scientist battle a "
        "teacher in the Canadian Rockies, starring Penelope Guiness and Lucille Tracy "
        "(86 min, 2006)."
    )

    score = await faithfulness(database, summary, ACADEMY_DINOSAUR)

    assert score.score == 1.0
    assert score.unsupported == ()
    assert score.unsupported_names == ()


async def test_the_issue_s_invented_summary_scores_low(database: Database) -> None:
    # What the local model wrote for film 1 before the prompt carried the facts and the cast.
    summary = (
        "ACADEMY DINOSAUR is a documentary about a brilliant and talented female scientist who "
        "has to fight her way through a male dominated field."
    )

    score = await faithfulness(database, summary, ACADEMY_DINOSAUR)

    assert score.score < 0.5
    assert {"brilliant", "talented", "female", "male", "dominated"} <= set(score.unsupported)
    assert score.unsupported_names == ()


@pytest.mark.parametrize(
    ("summary", "names"),
    [
        ("A feminist battles a teacher in Paris.", ("Paris",)),  # a place not in the facts
        ("Starring Tom Hanks as the teacher.", ("Tom", "Hanks")),  # a cast member who is not
        ("A drama. Paris is not in it.", ()),  # a sentence opening is not taken for a name
        ("An epic DOCUMENTARY with a FEMINIST.", ()),  # capitals of words in the facts
        ("A drama with Penelope Guiness.", ()),
    ],
)
async def test_names_not_in_the_facts_are_listed(
    database: Database, summary: str, names: tuple[str, ...]
) -> None:
    assert (await faithfulness(database, summary, ACADEMY_DINOSAUR)).unsupported_names == names


async def test_words_match_by_stem_and_numbers_must_be_facts(database: Database) -> None:
    stemmed = await faithfulness(database, "Scientists battling teachers.", ACADEMY_DINOSAUR)
    assert stemmed.score == 1.0
    said = "Released in 2006, 86 minutes, 120 explosions."
    score = await faithfulness(database, said, ACADEMY_DINOSAUR)
    assert score.unsupported == ("120", "explosions")
    # The rate as written, a possessive, and a contraction that is a stop word.
    said = "Released in 2006 for $0.99, 86 minutes, 120 explosions; it's the feminist's."
    score = await faithfulness(database, said, ACADEMY_DINOSAUR)
    assert score.unsupported == ("120", "explosions")


async def test_an_empty_or_contentless_summary_scores_zero(database: Database) -> None:
    assert (await faithfulness(database, "", ACADEMY_DINOSAUR)).score == 0.0
    assert (await faithfulness(database, "It is a film about this.", ACADEMY_DINOSAUR)).score == 0.0
    # English's stop words (PostgreSQL's list) and the words of describing any film.
    contentless = "It is a film about this, and they were in it."
    assert (await faithfulness(database, contentless, ACADEMY_DINOSAUR)).score == 0.0
