"""The schema the local model answers in bounds every string, so the longest object it can
produce fits the token budget: an answer cannot be cut mid-JSON."""

import json
import re

import pytest

from features.ai_summary.dtos import (
    DRAFT_MAX_TOKENS,
    SUMMARY_MAX_CHARS,
    TITLE_MAX_CHARS,
    SummaryDraft,
)
from shared.ai.kernel import response_format_for

llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")

LOCAL_SCHEMA = response_format_for("local", SummaryDraft)["schema"]
SUMMARY = re.compile(LOCAL_SCHEMA["properties"]["summary"]["pattern"])
TITLE = re.compile(LOCAL_SCHEMA["properties"]["title"]["pattern"])


@pytest.mark.parametrize(
    ("text", "fits"),
    [
        ("A feminist and a mad scientist battle a teacher in the Canadian Rockies.", True),
        ("x" * (SUMMARY_MAX_CHARS - 1) + ".", True),
        ("x" * SUMMARY_MAX_CHARS + ".", False),  # too long
        ("A drama. And a second sentence.", False),  # one sentence only
        ("No full stop", False),
        ('A "quoted" word.', False),  # no escapes: one character, one token or more
        ("A back\\slash.", False),
        ("A new\nline.", False),
        (".", False),  # not empty
    ],
)
def test_the_summary_is_one_bounded_plain_sentence(text: str, fits: bool) -> None:
    assert bool(SUMMARY.fullmatch(text)) is fits


def test_the_title_is_bounded() -> None:
    assert TITLE.fullmatch("x" * TITLE_MAX_CHARS)
    assert not TITLE.fullmatch("x" * (TITLE_MAX_CHARS + 1))


def test_the_longest_object_the_grammar_allows_fits_the_token_budget() -> None:
    grammar = llama_grammar.json_schema_to_gbnf(json.dumps(LOCAL_SCHEMA))
    # Every optional space the grammar allows between tokens (`space ::= " "?`).
    assert 'space ::= " "?' in grammar
    spaces = sum(line.split("::=", 1)[1].count("space") for line in grammar.splitlines())
    longest = {
        "title": "x" * TITLE_MAX_CHARS,
        "rating": "NC-17",
        "recommended": False,
        "summary": "x" * (SUMMARY_MAX_CHARS - 1) + ".",
    }
    characters = len(json.dumps(longest, separators=(",", ":"))) + spaces

    # A generated token is at least one character; one more token ends the text.
    assert characters + 1 <= DRAFT_MAX_TOKENS


def test_hosted_providers_get_no_grammar_keywords() -> None:
    strict = json.dumps(response_format_for("openai", SummaryDraft))

    assert "maxLength" not in strict
    assert "pattern" not in strict
