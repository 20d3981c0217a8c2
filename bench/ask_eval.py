"""`just eval ask`: how often GET /ai/ask names a film that is not in the catalogue, with the
catalogue grounding off (the model alone) and on, over a fixed set of questions, in one run.

In process (the app's own lifespan and model), one question at a time, the same questions in
the same order for both. A film an answer "names" is a quoted or emphasised title, a title
followed by a year in brackets, or a run of capitalised words in the catalogue's own style
(ACADEMY DINOSAUR); it is invented when no catalogue title matches it. Every invented name is
printed, so that a reader can check the count. A benchmark, not a test: it reports.
"""

import argparse
import asyncio
import re
import sys
from dataclasses import dataclass, field

import httpx
from sqlalchemy import text

from bench import UNMETERED
from devenv.settings import get_dev_settings
from main import create_app
from shared.database import Database, Statement
from shared.settings import get_app_settings, get_settings

QUESTIONS = [
    "Recommend three horror films you have in stock",
    "What comedy should I rent tonight?",
    "Which films star Penelope Guiness?",
    "Do you have any good sci-fi movies?",
    "I want a movie about a shark",
    "What's a good family film for the weekend?",
    "Any documentaries about dogs?",
    "What are your most popular action movies?",
    "Suggest a romantic movie for date night",
    "What movies has Nick Wahlberg been in?",
    "Tell me about Academy Dinosaur",
    "Is there a film about a crocodile and a monkey?",
    "Which classic films do you carry?",
    "What should I watch if I liked The Matrix?",
    "Name a few animated movies for kids",
    "What's the best drama you have?",
    "Do you have any movies set in ancient China?",
    "Recommend a short film under 90 minutes",
    "What foreign films do you have?",
    "Which music films can I rent?",
]
_QUOTED = re.compile(r"[\"“”*_]([^\"“”*_\n]{2,60})[\"“”*_]")
_WITH_YEAR = re.compile(r"((?:[A-Z][\w'\u2019:&.-]*\s?){1,6})\s*\((?:19|20)\d\d\)")
_CAPS = re.compile(r"\b[A-Z]{2,}(?:\s+[A-Z]{2,})+\b")


@dataclass
class Phase:
    name: str
    invented: list[tuple[str, list[str]]] = field(default_factory=list)  # question, names
    grounded: int = 0  # answers that name a catalogue film
    failed: int = 0


def named_films(answer: str) -> list[str]:
    names = [m.group(1) for m in _QUOTED.finditer(answer)]
    names += [m.group(1) for m in _WITH_YEAR.finditer(answer)]
    names += _CAPS.findall(answer)
    return [n.strip(" .,:;!?") for n in names if len(n.strip(" .,:;!?")) > 2]


def judge(answer: str, titles: set[str], known: set[str]) -> tuple[list[str], bool]:
    """(names that are not catalogue films, whether it names a catalogue film)."""
    lowered = answer.lower()
    grounded = any(re.search(rf"\b{re.escape(t)}\b", lowered) for t in titles)
    invented = [
        name
        for name in named_films(answer)
        if name.lower() not in titles
        and name.lower() not in known
        and not any(t in name.lower() for t in titles)
    ]
    return invented, grounded


async def run(log_level: str) -> str:
    settings = get_settings().model_copy(update={"log_level": log_level, **UNMETERED})
    app = create_app(settings, get_dev_settings())
    phases = [Phase("model alone (ASK_GROUNDING=false)"), Phase("grounded (ASK_GROUNDING=true)")]
    async with app.router.lifespan_context(app):
        db: Database = app.state.database
        titles = {
            row["title"].lower() for row in await db.rows(Statement(text("SELECT title FROM film")))
        }
        # Not films: actors' and categories' names, ratings.
        known = {
            row["name"].lower()
            for row in await db.rows(
                Statement(
                    text(
                        "SELECT first_name || ' ' || last_name AS name FROM actor UNION "
                        "SELECT name FROM category UNION "
                        "SELECT unnest(enum_range(NULL::mpaa_rating))::text"
                    )
                )
            )
        }
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://eval") as client:
            for grounded, phase in zip((False, True), phases, strict=True):
                phase_settings = settings.model_copy(update={"ask_grounding": grounded})
                app.dependency_overrides[get_app_settings] = lambda s=phase_settings: s
                for question in QUESTIONS:
                    response = await client.get(
                        "/ai/ask", params={"question": question}, timeout=None
                    )
                    if response.status_code != 200:
                        phase.failed += 1
                        continue
                    invented, names_catalogue = judge(response.text, titles, known)
                    phase.grounded += names_catalogue
                    if invented:
                        phase.invented.append((question, invented))
                print(f"  {phase.name}: done", file=sys.stderr, flush=True)
    lines = [f"{len(QUESTIONS)} questions, each answered once per phase"]
    for phase in phases:
        lines.append(
            f"{phase.name}: {len(phase.invented)} answers name a film not in the catalogue; "
            f"{phase.grounded} name a catalogue film; {phase.failed} failed"
        )
    for phase in phases:
        lines.append(f"\nInvented, {phase.name}:")
        lines += [f"- {q!r}: {', '.join(names)}" for q, names in phase.invented] or ["- none"]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="WARNING", help="the app's log level")
    args = parser.parse_args()
    print(asyncio.run(run(args.log_level)))


if __name__ == "__main__":
    main()
