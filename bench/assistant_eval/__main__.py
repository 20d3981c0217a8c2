"""`just eval assistant`: the store assistant (POST /ai/handoff) over questions phrased the way
people type them, each judged against facts computed by SQL at run time.

Two halves, each reported on its own:
- `build.toml`, written with the assistant and tuned on. Its end holds the cases of the old
  `held_out.toml`, which stopped being held out once it had been tuned on.
- `held_out_v2.toml` (written before the rebuild), `held_out_v3.toml` to `held_out_v11.toml`
  (after it, each before it was ever run), each written by someone who had not seen the code,
  and FROZEN: no case is
  added, removed or reworded after its first run, so that its runs stay comparable and it is
  never tuned on. New cases go
  into build.toml; a held-out half that has been tuned on is retired into build.toml and
  replaced by a new file, never edited. Until it exists, only the build half is run.

In process, the app's own lifespan (DATABASE_URL or the embedded server, the local model when no
key is configured), one question at a time. A benchmark, not a test: it reports, it does not
fail (exit 0). `--json PATH` keeps every result of a run.

A case (`[[case]]`): `q` and `kind` ("store" or "general"), and for store questions any of
- `says`: SQL; every value of every row must appear in the answer (any case);
- `films`: SQL of titles; the answer names at least one film, and only films from this set
  (when the set is empty today, the right answer is a no);
- `first`: SQL of titles; the first film the answer names is one of these (superlatives);
- `no = true`: the right answer is a no.
`staff = true`: asked as staff (`Authorization: Bearer <ADMIN_TOKEN>`), e.g. a customer's
rentals.

A conversation (`[[conversation]]`): a `name`, optional `staff = true` (every turn asked as
staff) and `[[conversation.turn]]`s, each a case. The turns are asked in order, each with the
earlier turns as `history` (oldest first: the user's question, then the assistant's `answer`).
Each turn is judged on its own, by the same checks (a follow-up's facts are about what the
earlier turns were about). When a turn fails (not 200), the conversation stops there; its
remaining turns count as failed ("conversation broken") and are not asked.

Counted per half (single cases and conversation turns apart and together):
- a "false no": an answer that says no (or none) when the case expects something (and is wrong);
- mix-ups: a store question answered by the general agent (store→general), a general one by
  the store's agent (general→store);
- "invented store facts": a store→general mix-up where the database had facts (`says`) or a no
  (`no = true`) to give, so the model alone spoke where the store should have; counted on its
  own besides the mix-ups, since such an answer is likely made up;
- latency p50 / p90 of the questions asked.
"""

import argparse
import asyncio
import json
import re
import sys
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench import UNMETERED
from devenv.settings import get_dev_settings
from main import create_app
from shared.database import Database, Statement
from shared.settings import get_settings

HERE = Path(__file__).parent
HALVES = {
    "build": HERE / "build.toml",
    "held-out": HERE / "held_out_v2.toml",
    "held-out-v3": HERE / "held_out_v3.toml",
    "held-out-v4": HERE / "held_out_v4.toml",
    "held-out-v5": HERE / "held_out_v5.toml",
    "held-out-v6": HERE / "held_out_v6.toml",
    "held-out-v7": HERE / "held_out_v7.toml",
    "held-out-v8": HERE / "held_out_v8.toml",
    "held-out-v9": HERE / "held_out_v9.toml",
    "held-out-v10": HERE / "held_out_v10.toml",
    "held-out-v11": HERE / "held_out_v11.toml",
}
KINDS = ("store", "general")
SAYS_NO = re.compile(
    r"\b(no film|no films|we have no|we hold no|we don't have|we do not have|don't carry|"
    r"do not carry|not in our catalogue|none|no copies|there is no|nothing|"
    # a refusal is a no too: a guest asking for customers' data
    r"signed-in staff only)\b",
    re.IGNORECASE,
)
BROKEN = "conversation broken"

Case = dict[str, Any]
# The values of every row of one SQL statement, as the answer would show them.
Facts = Callable[[str], Awaitable[list[str]]]


@dataclass
class Conversation:
    name: str
    staff: bool
    turns: list[Case]


@dataclass
class Half:
    cases: list[Case]
    conversations: list[Conversation]


@dataclass
class Result:
    half: str
    question: str
    kind: str
    agent: str | None
    answer: str
    seconds: float
    status: int  # 0: never asked (a turn after a broken one)
    conversation: str | None = None
    turn: int | None = None  # 1-based, within the conversation
    staff: bool = False
    problems: list[str] = field(default_factory=list)
    false_no: bool = False
    invented: bool = False

    @property
    def correct(self) -> bool:
        return not self.problems

    @property
    def asked(self) -> bool:
        return self.status != 0

    def record(self) -> dict[str, Any]:
        """One result as kept by --json."""
        return {
            "half": self.half,
            "conversation": self.conversation,
            "turn": self.turn,
            "question": self.question,
            "kind": self.kind,
            "staff": self.staff,
            "agent": self.agent,
            "correct": self.correct,
            "problems": self.problems,
            "seconds": round(self.seconds, 3),
            "answer": self.answer,
        }


def _checked(case: Any, where: str) -> Case:
    if not isinstance(case, dict) or not isinstance(case.get("q"), str):
        raise ValueError(f"{where}: needs `q`")
    if case.get("kind") not in KINDS:
        raise ValueError(f"{where}: `kind` must be one of {', '.join(KINDS)}")
    return case


def parse_half(document: dict[str, Any], source: str = "half") -> Half:
    cases = [_checked(c, f"{source} case {i}") for i, c in enumerate(document.get("case", []), 1)]
    conversations: list[Conversation] = []
    for i, conv in enumerate(document.get("conversation", []), 1):
        where = f"{source} conversation {conv.get('name') or i}"
        if not isinstance(conv.get("name"), str) or not conv.get("turn"):
            raise ValueError(f"{where}: needs `name` and at least one `[[conversation.turn]]`")
        turns = [_checked(t, f"{where} turn {n}") for n, t in enumerate(conv["turn"], 1)]
        conversations.append(Conversation(conv["name"], bool(conv.get("staff")), turns))
    return Half(cases, conversations)


def load_half(path: Path) -> Half | None:
    """None while the file does not exist (the frozen half may not be written yet)."""
    if not path.exists():
        return None
    try:
        return parse_half(tomllib.loads(path.read_text()), path.name)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise SystemExit(f"{path}: {exc}") from exc


def history(earlier: list[tuple[str, str]]) -> list[dict[str, str]]:
    """The earlier turns (question, answer), oldest first, as the request's `history`."""
    messages: list[dict[str, str]] = []
    for question, answer in earlier:
        messages.append({"role": "user", "content": question})
        messages.append({"role": "assistant", "content": answer})
    return messages


def request_body(question: str, earlier: list[tuple[str, str]]) -> dict[str, Any]:
    body: dict[str, Any] = {"question": question}
    if earlier:
        body["history"] = history(earlier)
    return body


def _shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    # A char(n) column comes back padded (Pagila's language.name is char(20)): no answer says
    # the padding.
    return str(value).strip()


def films_named(answer: str, titles: list[str]) -> list[str]:
    """Catalogue titles the answer names, in the order it names them (whole words, any case)."""
    found: list[tuple[int, str]] = []
    lowered = answer.lower()
    for title in titles:
        match = re.search(rf"(?<![\w]){re.escape(title.lower())}(?![\w])", lowered)
        if match:
            found.append((match.start(), title))
    return [title for _, title in sorted(found)]


def facts_from(db: Database) -> Facts:
    async def values(sql: str) -> list[str]:
        # The SQL as written, on the driver itself: no bind parameters parsed out of it (a
        # regular expression's "(?:a |an )" is no ":a"), and rows as tuples (columns may share
        # a name).
        async with db.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            rows = await raw.driver_connection.fetch(sql)  # type: ignore[union-attr]
        return [_shown(value) for row in rows for value in row]

    return values


async def judge(case: Case, result: Result, titles: list[str], facts: Facts) -> None:
    answer = result.answer
    if result.status != 200:
        result.problems.append(f"status {result.status}")
        return
    expected_agent = "search" if case["kind"] == "store" else "general"
    if result.agent != expected_agent:
        result.problems.append(f"answered by {result.agent}, expected {expected_agent}")
    if case["kind"] != "store":
        return
    if result.agent == "general" and (case.get("no") or "says" in case):
        result.invented = True
    named = films_named(answer, titles)
    if "says" in case:
        values = await facts(case["says"])
        if not values:
            result.problems.append("case error: `says` found nothing")
        missing = [v for v in values if v.lower() not in answer.lower()]
        if missing:
            result.problems.append(f"does not say: {', '.join(missing[:5])}")
    expects_no = bool(case.get("no"))
    if "films" in case:
        allowed = set(await facts(case["films"]))
        if not allowed:  # the database has none today: the right answer is a no
            expects_no = True
        elif not named:
            result.problems.append("names no film")
        elif stray := [t for t in named if t not in allowed]:
            result.problems.append(f"names films outside the set: {', '.join(stray[:5])}")
    if "first" in case:
        allowed = set(await facts(case["first"]))
        if not named or named[0] not in allowed:
            result.problems.append(f"first film {named[0] if named else '-'} is not one of the set")
    if expects_no:
        if named and "films" in case:
            result.problems.append(f"names films where there are none: {', '.join(named[:5])}")
        if not SAYS_NO.search(answer):
            result.problems.append("should say no")
    elif SAYS_NO.search(answer) and result.problems:
        result.false_no = True
        result.problems.append("false no")


def broken(half: str, conversation: Conversation, turn: int) -> Result:
    """A turn not asked because an earlier one failed."""
    case = conversation.turns[turn - 1]
    return Result(
        half=half,
        question=case["q"],
        kind=case["kind"],
        agent=None,
        answer="",
        seconds=0.0,
        status=0,
        conversation=conversation.name,
        turn=turn,
        staff=conversation.staff or bool(case.get("staff")),
        problems=[BROKEN],
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _score(results: list[Result]) -> str:
    return f"{sum(r.correct for r in results)}/{len(results)}"


def _label(r: Result) -> str:
    where = f"[{r.half}]"
    if r.conversation is not None:
        where += f" «{r.conversation}» turn {r.turn}"
    return f"{where}{' (staff)' if r.staff else ''} {r.question!r}"


def report(results: list[Result], every: bool = False, missing: list[str] | None = None) -> str:
    lines = [f"{half}: {HALVES[half].name} does not exist yet; not run" for half in missing or []]
    for half in HALVES:
        mine = [r for r in results if r.half == half]
        if not mine:
            continue
        single = [r for r in mine if r.conversation is None]
        turns = [r for r in mine if r.conversation is not None]
        store = [r for r in mine if r.kind == "store"]
        general = [r for r in mine if r.kind == "general"]
        correct = sum(r.correct for r in mine)
        lines += [
            f"{half}: {correct}/{len(mine)} correct ({100 * correct / len(mine):.0f} %) — "
            f"single {_score(single)}, conversation turns {_score(turns)}; "
            f"store {_score(store)}, general {_score(general)}",
        ]
        names = list(dict.fromkeys(r.conversation for r in turns))
        if names:
            whole = sum(all(r.correct for r in turns if r.conversation == n) for n in names)
            cut = len({r.conversation for r in turns if BROKEN in r.problems})
            lines.append(
                f"  conversations with every turn right: {whole}/{len(names)}; broken off: {cut}"
            )
        lines.append(
            f"  false no: {sum(r.false_no for r in mine)}; "
            f"store→general: {sum(r.agent == 'general' for r in store)}; "
            f"general→store: {sum(r.agent == 'search' for r in general)}; "
            f"invented store facts: {sum(r.invented for r in mine)}"
        )
        if seconds := [r.seconds for r in mine if r.asked]:
            lines.append(
                f"  latency p50 {_percentile(seconds, 0.5):.2f} s, "
                f"p90 {_percentile(seconds, 0.9):.2f} s ({len(seconds)} asked)"
            )
    if every:
        lines.append("\nEvery answer:")
        lines += [f"- {_label(r)} ({r.agent}): {r.answer[:300]}" for r in results if r.asked]
    failures = [r for r in results if not r.correct]
    if failures:
        lines.append("\nFailures:")
    for r in failures:
        lines += [
            f"- {_label(r)} ({r.kind}, answered by {r.agent})",
            f"    {'; '.join(r.problems)}",
        ]
        if r.asked:
            lines.append(f"    answer: {r.answer[:300]}")
    return "\n".join(lines)


class Asker:
    """Asks one question in process and judges its answer."""

    def __init__(
        self, client: httpx.AsyncClient, admin_token: str, titles: list[str], facts: Facts
    ) -> None:
        self._client = client
        self._staff_headers = {"Authorization": f"Bearer {admin_token}"}
        self._titles = titles
        self._facts = facts
        self.results: list[Result] = []

    async def ask(
        self,
        half: str,
        case: Case,
        *,
        staff: bool = False,
        conversation: str | None = None,
        turn: int | None = None,
        earlier: list[tuple[str, str]] | None = None,
    ) -> Result:
        staff = staff or bool(case.get("staff"))
        started = time.perf_counter()
        response = await self._client.post(
            "/ai/handoff",
            json=request_body(case["q"], earlier or []),
            headers=self._staff_headers if staff else None,
            timeout=None,
        )
        body = response.json() if response.status_code == 200 else {}
        result = Result(
            half=half,
            question=case["q"],
            kind=case["kind"],
            agent=body.get("agent"),
            answer=body.get("answer", response.text[:200]),
            seconds=time.perf_counter() - started,
            status=response.status_code,
            conversation=conversation,
            turn=turn,
            staff=staff,
        )
        await judge(case, result, self._titles, self._facts)
        self.results.append(result)
        if len(self.results) % 10 == 0:
            print(f"  {len(self.results)} asked", file=sys.stderr, flush=True)
        return result

    async def converse(self, half: str, conversation: Conversation) -> None:
        earlier: list[tuple[str, str]] = []
        for turn, case in enumerate(conversation.turns, 1):
            result = await self.ask(
                half,
                case,
                staff=conversation.staff,
                conversation=conversation.name,
                turn=turn,
                earlier=earlier,
            )
            if result.status != 200:
                self.results += [
                    broken(half, conversation, n)
                    for n in range(turn + 1, len(conversation.turns) + 1)
                ]
                return
            earlier.append((case["q"], result.answer))


async def run(halves: dict[str, Half], log_level: str) -> list[Result]:
    settings = get_settings().model_copy(update={"log_level": log_level, **UNMETERED})
    app = create_app(settings, get_dev_settings())
    async with app.router.lifespan_context(app):
        db: Database = app.state.database
        titles = [row["title"] for row in await db.rows(Statement(text("SELECT title FROM film")))]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://eval") as client:
            asker = Asker(client, settings.admin_token.get_secret_value(), titles, facts_from(db))
            for name, half in halves.items():
                for case in half.cases:
                    await asker.ask(name, case)
                for conversation in half.conversations:
                    await asker.converse(name, conversation)
    return asker.results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--half", choices=[*HALVES, "both"], default="both", help="which half (default both)"
    )
    parser.add_argument("--log-level", default="WARNING", help="the app's log level")
    parser.add_argument("--every", action="store_true", help="print every answer too")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every result here")
    args = parser.parse_args()
    wanted = list(HALVES) if args.half == "both" else [args.half]
    loaded = {name: load_half(HALVES[name]) for name in wanted}
    halves = {name: half for name, half in loaded.items() if half is not None}
    missing = [name for name, half in loaded.items() if half is None]
    results = asyncio.run(run(halves, args.log_level)) if halves else []
    if args.json is not None:
        records = [r.record() for r in results]
        args.json.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n")
    print(report(results, args.every, missing))


if __name__ == "__main__":
    main()
