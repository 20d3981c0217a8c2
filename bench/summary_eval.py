"""`just eval`: POST /ai/summary over a sample of films on the configured model, and how good
the answers are.

In process (the app's own lifespan: DATABASE_URL or the embedded server, and the local model
when no key is configured), one request at a time, films drawn with a fixed seed. For each
answer: valid (200 and the response schema), grounded (title, rating and `recommended` equal to
what this script reads from the database and the rule), faithfulness (the slice's deterministic
score of the prose against the film's facts), latency, and retries (the handler's
`summary.invalid_model_output` warnings). A benchmark, not a test: it reports, it does not fail.

It runs with the summary cache off (AI_SUMMARY_CACHE=false, whatever the environment says):
every request reaches the model, so it measures the model, never a summary kept from before,
and it keeps none.
"""

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import structlog
from pydantic import ValidationError
from sqlalchemy import select
from sqlmodel import col
from structlog.types import EventDict

from bench import UNMETERED
from devenv.settings import get_dev_settings
from features.ai_summary import query
from features.ai_summary.dtos import (
    RECOMMENDED_BELOW_RATE,
    RECOMMENDED_RATINGS,
    FilmFacts,
    FilmSummary,
)
from features.ai_summary.faithfulness import faithfulness
from main import create_app
from shared.database import Database, Statement
from shared.database.models import Film
from shared.settings import get_settings

ALL_FILM_IDS = Statement(select(col(Film.film_id)).order_by(col(Film.film_id)))


@dataclass
class Outcome:
    film_id: int
    status: int
    seconds: float
    valid: bool = False
    grounded: bool = False
    faithfulness: float | None = None
    unsupported: tuple[str, ...] = ()
    unsupported_names: tuple[str, ...] = ()
    summary: str | None = None


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _judge(
    db: Database, facts: FilmFacts, outcome: Outcome, response: httpx.Response
) -> None:
    if response.status_code != 200:
        return
    try:
        answer = FilmSummary.model_validate_json(response.content)
    except ValidationError:
        return
    outcome.valid = True
    expected_recommended = (
        facts.rating in RECOMMENDED_RATINGS and facts.rental_rate < RECOMMENDED_BELOW_RATE
    )
    outcome.grounded = (answer.title, answer.rating, answer.recommended) == (
        facts.title,
        facts.rating,
        expected_recommended,
    )
    score = await faithfulness(db, answer.summary, facts)
    outcome.faithfulness = score.score
    outcome.unsupported = score.unsupported
    outcome.unsupported_names = score.unsupported_names
    outcome.summary = answer.summary


def _report(outcomes: list[Outcome], retries: int, db_facts: dict[int, FilmFacts]) -> str:
    n = len(outcomes)
    valid = [o for o in outcomes if o.valid]
    scores = [o.faithfulness for o in valid if o.faithfulness is not None]
    seconds = [o.seconds for o in outcomes]
    statuses: dict[int, int] = {}
    for o in outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    lines = [
        f"films: {n}   statuses: {dict(sorted(statuses.items()))}",
        f"valid: {len(valid)}/{n} ({100 * len(valid) / n:.1f} %)",
        f"grounded: {sum(o.grounded for o in outcomes)}/{n}"
        f" ({100 * sum(o.grounded for o in outcomes) / n:.1f} %)",
        f"502s: {statuses.get(502, 0)}   retries: {retries}",
        f"faithfulness: mean {statistics.fmean(scores):.3f}, median "
        f"{statistics.median(scores):.3f}, min {min(scores):.3f}"
        if scores
        else "faithfulness: -",
        f"summaries naming something not in the facts: "
        f"{sum(bool(o.unsupported_names) for o in valid)}/{len(valid)}",
        f"latency: p50 {_percentile(seconds, 0.5):.2f} s, p90 {_percentile(seconds, 0.9):.2f} s,"
        f" max {max(seconds):.2f} s",
        "",
        "least faithful:",
    ]
    for o in sorted(valid, key=lambda o: (o.faithfulness or 0.0, o.film_id))[:5]:
        facts = db_facts[o.film_id]
        lines += [
            f"- film {o.film_id} {facts.title} ({facts.category}, {facts.rating}, "
            f"{facts.release_year}, {facts.length} min) faithfulness {o.faithfulness:.2f}",
            f"  description: {facts.description}",
            f"  cast: {', '.join(facts.actors) or '-'}",
            f"  summary: {o.summary}",
            f"  not in the facts: {', '.join(o.unsupported) or '-'}",
        ]
    return "\n".join(lines)


async def run(count: int | None, seed: int, log_level: str, out: Path | None) -> str:
    # The model, not the cache: every request is generated anew, and none is stored.
    settings = get_settings().model_copy(
        update={"log_level": log_level, "ai_summary_cache": False, **UNMETERED}
    )
    app = create_app(settings, get_dev_settings())
    retries = 0

    def count_retries(_: Any, __: str, event_dict: EventDict) -> EventDict:
        nonlocal retries
        retries += event_dict.get("event") == "summary.invalid_model_output"
        return event_dict

    structlog.get_config()["processors"].insert(0, count_retries)
    async with app.router.lifespan_context(app):
        db: Database = app.state.database
        film_ids = [row["film_id"] for row in await db.rows(ALL_FILM_IDS)]
        if count is not None:
            film_ids = random.Random(seed).sample(  # noqa: S311 - a sample, not a secret
                film_ids, min(count, len(film_ids))
            )
        outcomes: list[Outcome] = []
        facts: dict[int, FilmFacts] = {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://eval") as client:
            for done, film_id in enumerate(film_ids, 1):
                started = time.perf_counter()
                response = await client.post("/ai/summary", json={"film_id": film_id}, timeout=None)
                outcome = Outcome(film_id, response.status_code, time.perf_counter() - started)
                row = await query.fetch_facts(db, film_id)
                assert row is not None
                facts[film_id] = FilmFacts.from_row(row)
                await _judge(db, facts[film_id], outcome, response)
                outcomes.append(outcome)
                if done % 25 == 0:
                    print(f"  {done}/{len(film_ids)}", file=sys.stderr, flush=True)
    if out is not None:
        out.write_text("\n".join(json.dumps(asdict(o)) for o in outcomes) + "\n")
    return _report(outcomes, retries, facts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--films", type=int, default=100, help="films to sample (default 100)")
    size.add_argument("--all", action="store_true", help="every film (1,000)")
    parser.add_argument("--seed", type=int, default=20261123, help="sampling seed")
    parser.add_argument("--log-level", default="WARNING", help="the app's log level")
    parser.add_argument("--out", type=Path, help="write one JSON line per film here")
    args = parser.parse_args()
    print(asyncio.run(run(None if args.all else args.films, args.seed, args.log_level, args.out)))


if __name__ == "__main__":
    main()
