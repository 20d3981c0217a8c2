"""`just eval assistant`: the store assistant (POST /ai/handoff) over questions phrased the way
people type them, each judged against facts computed by SQL at run time.

Two halves: `build.toml` (written with the assistant) and `held_out.toml` (written before it,
by someone else, never tuned on); each is reported on its own. In process, the app's own
lifespan (DATABASE_URL or the embedded server, the local model when no key is configured), one
question at a time. A benchmark, not a test: it reports, it does not fail (exit 0).

A case: `q` and `kind` ("store" or "general"), and for store questions any of
- `says`: SQL; every value of every row must appear in the answer (any case);
- `films`: SQL of titles; the answer names at least one film, and only films from this set
  (when the set is empty today, the right answer is a no);
- `first`: SQL of titles; the first film the answer names is one of these (superlatives);
- `no = true`: the right answer is a no.
A "false no" is an answer that says no (or none) when the case expects something.
"""

import argparse
import asyncio
import re
import sys
import time
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from devenv.settings import get_dev_settings
from main import create_app
from shared.database import Database
from shared.settings import get_settings

HERE = Path(__file__).parent
HALVES = {"build": HERE / "build.toml", "held-out": HERE / "held_out.toml"}
SAYS_NO = re.compile(
    r"\b(no film|no films|we have no|we hold no|we don't have|we do not have|don't carry|"
    r"do not carry|not in our catalogue|none|no copies|there is no|nothing)\b",
    re.IGNORECASE,
)


@dataclass
class Result:
    half: str
    question: str
    kind: str
    agent: str | None
    answer: str
    seconds: float
    status: int
    problems: list[str] = field(default_factory=list)
    false_no: bool = False

    @property
    def correct(self) -> bool:
        return not self.problems


def _shown(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def films_named(answer: str, titles: list[str]) -> list[str]:
    """Catalogue titles the answer names, in the order it names them (whole words, any case)."""
    found: list[tuple[int, str]] = []
    lowered = answer.lower()
    for title in titles:
        match = re.search(rf"(?<![\w]){re.escape(title.lower())}(?![\w])", lowered)
        if match:
            found.append((match.start(), title))
    return [title for _, title in sorted(found)]


async def _values(db: Database, sql: str) -> list[str]:
    rows = await db.read(text(sql))
    return [_shown(value) for row in rows for value in row]


async def judge(db: Database, case: dict[str, Any], result: Result, titles: list[str]) -> None:
    answer = result.answer
    if result.status != 200:
        result.problems.append(f"status {result.status}")
        return
    expected_agent = "search" if case["kind"] == "store" else "general"
    if result.agent != expected_agent:
        result.problems.append(f"answered by {result.agent}, expected {expected_agent}")
    if case["kind"] != "store":
        return
    named = films_named(answer, titles)
    if "says" in case:
        values = await _values(db, case["says"])
        if not values:
            result.problems.append("case error: `says` found nothing")
        missing = [v for v in values if v.lower() not in answer.lower()]
        if missing:
            result.problems.append(f"does not say: {', '.join(missing[:5])}")
    expects_no = bool(case.get("no"))
    if "films" in case:
        allowed = set(await _values(db, case["films"]))
        if not allowed:  # the database has none today: the right answer is a no
            expects_no = True
        elif not named:
            result.problems.append("names no film")
        elif stray := [t for t in named if t not in allowed]:
            result.problems.append(f"names films outside the set: {', '.join(stray[:5])}")
    if "first" in case:
        allowed = set(await _values(db, case["first"]))
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


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def report(results: list[Result], every: bool = False) -> str:
    lines: list[str] = []
    for half in HALVES:
        mine = [r for r in results if r.half == half]
        if not mine:
            continue
        store = [r for r in mine if r.kind == "store"]
        general = [r for r in mine if r.kind == "general"]
        correct = sum(r.correct for r in mine)
        seconds = [r.seconds for r in mine]
        lines += [
            f"{half}: {correct}/{len(mine)} correct ({100 * correct / len(mine):.0f} %) — "
            f"store {sum(r.correct for r in store)}/{len(store)}, "
            f"general {sum(r.correct for r in general)}/{len(general)}",
            f"  false no: {sum(r.false_no for r in mine)}; "
            f"store→general: {sum(r.agent == 'general' for r in store)}; "
            f"general→store: {sum(r.agent == 'search' for r in general)}",
            f"  latency p50 {_percentile(seconds, 0.5):.2f} s, "
            f"p90 {_percentile(seconds, 0.9):.2f} s",
        ]
    if every:
        lines.append("\nEvery answer:")
        lines += [f"- [{r.half}] {r.question!r} ({r.agent}): {r.answer[:300]}" for r in results]
    failures = [r for r in results if not r.correct]
    if failures:
        lines.append("\nFailures:")
    for r in failures:
        lines += [
            f"- [{r.half}] {r.question!r} ({r.kind}, answered by {r.agent})",
            f"    {'; '.join(r.problems)}",
            f"    answer: {r.answer[:300]}",
        ]
    return "\n".join(lines)


async def run(halves: list[str], log_level: str, every: bool) -> str:
    settings = get_settings().model_copy(update={"log_level": log_level})
    app = create_app(settings, get_dev_settings())
    results: list[Result] = []
    async with app.router.lifespan_context(app):
        db: Database = app.state.database
        titles = [row[0] for row in await db.read(text("SELECT title FROM film"))]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://eval") as client:
            for half in halves:
                cases = tomllib.loads(HALVES[half].read_text())["case"]
                for done, case in enumerate(cases, 1):
                    started = time.perf_counter()
                    response = await client.post(
                        "/ai/handoff", json={"question": case["q"]}, timeout=None
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
                    )
                    await judge(db, case, result, titles)
                    results.append(result)
                    if done % 10 == 0:
                        print(f"  {half}: {done}/{len(cases)}", file=sys.stderr, flush=True)
    return report(results, every)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--half", choices=[*HALVES, "both"], default="both", help="which half (default both)"
    )
    parser.add_argument("--log-level", default="WARNING", help="the app's log level")
    parser.add_argument("--every", action="store_true", help="print every answer too")
    args = parser.parse_args()
    halves = list(HALVES) if args.half == "both" else [args.half]
    print(asyncio.run(run(halves, args.log_level, args.every)))


if __name__ == "__main__":
    main()
