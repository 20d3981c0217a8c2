"""`just eval assistant` judges by itself, without a server: its judge on hand-made answers (the
database's facts stubbed), a conversation's history, the halves' files as it reads them."""

import tomllib

import pytest

from bench.assistant_eval.__main__ import (
    BROKEN,
    HALVES,
    Conversation,
    Facts,
    Result,
    _shown,
    broken,
    history,
    judge,
    parse_half,
    report,
    request_body,
)

TITLES = ["ACADEMY DINOSAUR", "ACE GOLDFINGER", "ZORRO ARK"]


async def no_facts(sql: str) -> list[str]:
    raise AssertionError(f"this case needs no SQL: {sql}")


def facts(rows: dict[str, list[str]]) -> Facts:
    async def values(sql: str) -> list[str]:
        return rows[sql]

    return values


def answered(answer: str, kind: str = "store", agent: str = "search", status: int = 200) -> Result:
    return Result(
        half="build",
        question="q",
        kind=kind,
        agent=agent,
        answer=answer,
        seconds=0.5,
        status=status,
    )


async def test_a_no_is_right_where_the_case_expects_a_no() -> None:
    case = {"q": "do you have avatar", "kind": "store", "no": True}
    result = answered("Sorry, we don't have that film.")

    await judge(case, result, TITLES, no_facts)

    assert result.correct
    assert not result.invented


async def test_an_answer_that_is_not_a_no_where_one_is_expected_is_wrong() -> None:
    case = {"q": "do you have avatar", "kind": "store", "no": True}
    result = answered("Yes! Avatar is 2.99 to rent.")

    await judge(case, result, TITLES, no_facts)

    assert result.problems == ["should say no"]


async def test_the_model_answering_a_store_question_with_facts_invents_them() -> None:
    case = {"q": "how much is zorro ark", "kind": "store", "says": "SQL"}
    result = answered("Zorro Ark rents for 4.99.", agent="general")

    await judge(case, result, TITLES, facts({"SQL": ["4.99"]}))

    assert result.invented
    assert result.problems == ["answered by general, expected search"]


async def test_a_store_answer_must_say_every_value_and_a_wrong_no_is_a_false_no() -> None:
    case = {"q": "who is in academy dinosaur", "kind": "store", "says": "SQL"}
    rows = {"SQL": ["PENELOPE GUINESS", "CHRISTIAN GABLE"]}
    right, wrong = answered("Penelope Guiness and Christian Gable."), answered("There is no cast.")

    await judge(case, right, TITLES, facts(rows))
    await judge(case, wrong, TITLES, facts(rows))

    assert right.correct
    assert wrong.false_no
    assert wrong.problems == ["does not say: PENELOPE GUINESS, CHRISTIAN GABLE", "false no"]


async def test_films_outside_the_set_and_an_empty_set_that_wants_a_no() -> None:
    case = {"q": "short r-rated dramas", "kind": "store", "films": "SQL"}
    stray = answered("Try ACE GOLDFINGER or ZORRO ARK.")
    none_today = answered("Try ZORRO ARK.")

    await judge(case, stray, TITLES, facts({"SQL": ["ZORRO ARK"]}))
    await judge(case, none_today, TITLES, facts({"SQL": []}))

    assert stray.problems == ["names films outside the set: ACE GOLDFINGER"]
    assert none_today.problems == ["names films where there are none: ZORRO ARK", "should say no"]


async def test_a_failed_request_is_wrong_whatever_it_says() -> None:
    result = answered("Not authenticated", status=401)

    await judge({"q": "q", "kind": "general"}, result, TITLES, no_facts)

    assert result.problems == ["status 401"]


def test_the_history_is_the_earlier_turns_oldest_first() -> None:
    earlier = [("do you have zorro ark", "Yes, ZORRO ARK."), ("how much is it", "4.99.")]

    body = request_body("and is it in stock", earlier)

    assert body["question"] == "and is it in stock"
    assert [m["role"] for m in body["history"]] == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in body["history"]] == [
        "do you have zorro ark",
        "Yes, ZORRO ARK.",
        "how much is it",
        "4.99.",
    ]
    assert history([]) == []
    assert request_body("first turn", []) == {"question": "first turn"}


def test_a_broken_conversation_reports_its_turns_and_counts() -> None:
    talk = Conversation(
        "price then stock",
        staff=True,
        turns=[
            {"q": "how much is zorro ark", "kind": "store"},
            {"q": "in stock?", "kind": "store"},
        ],
    )
    failed = answered("boom", status=502)
    failed.problems.append("status 502")
    failed.conversation, failed.turn = talk.name, 1
    rest = broken("build", talk, 2)

    text = report([answered("hi", kind="general", agent="general"), failed, rest])

    assert rest.problems == [BROKEN]
    assert rest.staff
    assert not rest.asked
    assert "build: 1/3 correct" in text
    assert "single 1/1, conversation turns 0/2" in text
    assert "broken off: 1" in text
    assert "«price then stock» turn 2 (staff) 'in stock?'" in text
    assert "(2 asked)" in text


def test_a_case_without_a_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        parse_half({"case": [{"q": "how much is zorro ark"}]})


def test_the_build_half_reads() -> None:
    build = parse_half(tomllib.loads(HALVES["build"].read_text()), "build.toml")

    assert build.cases
    assert len(build.conversations) >= 20
    assert all(2 <= len(c.turns) <= 4 for c in build.conversations)
    assert len({c.name for c in build.conversations}) == len(build.conversations)


def test_a_padded_char_value_is_expected_without_its_padding() -> None:
    # Pagila's language.name is char(20): "English" comes back with 13 spaces.
    assert _shown("English             ") == "English"
