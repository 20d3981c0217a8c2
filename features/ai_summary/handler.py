"""Film summary: facts from the database, prose from the model, the rule from us."""

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError
from semantic_kernel.functions import KernelArguments, KernelFunctionFromPrompt

from features.ai_summary import query
from features.ai_summary.dtos import (
    DRAFT_MAX_TOKENS,
    RECOMMENDED_BELOW_RATE,
    RECOMMENDED_RATINGS,
    RECOMMENDED_RULE,
    SUMMARY_MAX_CHARS,
    FilmFacts,
    FilmSummary,
    SummaryDraft,
)
from features.ai_summary.faithfulness import faithfulness
from shared.ai.calls import invoke_function
from shared.ai.kernel import AIRuntime
from shared.database import Database
from shared.http.errors import BadGatewayError, NotFoundError
from shared.observability.telemetry import ai_bad_output

log = structlog.get_logger(__name__)

PROMPT_DIR = Path(__file__).parent / "prompts" / "summary"
SUMMARY_FUNCTION = KernelFunctionFromPrompt.from_directory(str(PROMPT_DIR), plugin_name="film")
ATTEMPTS = 2  # one retry when the model's output does not fit the schema


def prompt_version() -> str:
    """The prompt's version, from what is sent besides the facts: the prompt's files, the
    response schema and the token budget. An edit to any of them is a new version (and new
    cache keys), with no number to bump by hand."""
    digest = hashlib.sha256()
    for name in ("skprompt.txt", "config.json"):
        digest.update((PROMPT_DIR / name).read_bytes())
        digest.update(b"\0")
    schema = json.dumps(SummaryDraft.model_json_schema(), sort_keys=True)
    digest.update(f"{schema}\0{DRAFT_MAX_TOKENS}".encode())
    return digest.hexdigest()


PROMPT_VERSION = prompt_version()


def model_identity(ai: AIRuntime) -> str:
    """The model as a summary's key names it: the provider and the model (or Azure
    deployment, or the local model file's name)."""
    return f"{ai.provider}/{ai.model}"


def cache_key(variables: dict[str, Any], model: str, version: str = PROMPT_VERSION) -> str:
    """A summary's key: the SHA-256 (hex) of the prompt's variables (the film's facts as the
    prompt states them, and the rule and limit it is told), the model's identity and the
    prompt's version, as canonical JSON. Any fact the prompt shows changing is a new key."""
    payload = {"facts": variables, "model": model, "prompt": version}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_recommended(rating: str | None, rental_rate: Decimal) -> bool:
    return rating in RECOMMENDED_RATINGS and rental_rate < RECOMMENDED_BELOW_RATE


def clip(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


async def summarize(
    ai: AIRuntime, db: Database, film_id: int, *, cache: bool = True
) -> FilmSummary:
    # One read on a pooled connection, released at once: none is held while the model thinks.
    row = await query.fetch_facts(db, film_id)
    if row is None:
        raise NotFoundError(f"Film {film_id} not found.")
    facts = FilmFacts.from_row(row)

    # What the prompt is given, and so what the summary's key is made of.
    variables: dict[str, Any] = {
        "title": facts.title,
        "category": facts.category or "unknown",
        "rating": facts.rating or "not rated",
        "rental_rate": f"{facts.rental_rate:.2f}",
        "length": facts.length or "unknown",
        "release_year": facts.release_year or "unknown",
        "description": facts.description or "",
        "actors": ", ".join(facts.actors) or "unknown",
        "recommended_rule": RECOMMENDED_RULE,
        "summary_max_chars": SUMMARY_MAX_CHARS,
    }
    model = model_identity(ai)
    key = cache_key(variables, model)
    if cache:
        cached = await query.fetch_cached_summary(db, key)  # one read, no connection kept
        if cached is not None:
            log.info("summary.done", film_id=film_id, cached=True)
            return _truth(facts, cached)

    arguments = KernelArguments(
        settings=ai.execution_settings(
            base=SUMMARY_FUNCTION.prompt_execution_settings.get("default"),
            json_model=SummaryDraft,
            max_tokens=DRAFT_MAX_TOKENS,
        ),
        **variables,
    )
    draft, attempts = await _draft(ai, arguments, film_id)

    truth = _truth(facts, clip(draft.summary))
    disagreed = sorted(
        name for name in ("title", "rating", "recommended")
        if getattr(draft, name) != getattr(truth, name)
    )  # fmt: skip
    score = await faithfulness(db, truth.summary, facts)
    if cache:
        await _store(db, key, film_id, model, truth.summary)
    # Scores and counts only: the summary's text is not logged at INFO.
    log.info(
        "summary.done",
        film_id=film_id,
        cached=False,
        attempts=attempts,
        faithfulness=score.score,
        unsupported_words=len(score.unsupported),
        unsupported_names=len(score.unsupported_names),
        model_disagreed=disagreed or None,
    )
    return truth


def _truth(facts: FilmFacts, summary: str) -> FilmSummary:
    """The response: the model's text, and the rest from the database and the rule."""
    return FilmSummary(
        title=facts.title,
        rating=facts.rating or "NR",
        recommended=is_recommended(facts.rating, facts.rental_rate),
        summary=summary,
    )


async def _store(db: Database, key: str, film_id: int, model: str, summary: str) -> None:
    """Keeps the summary, committed before the response; after the model has answered, so no
    connection waited on it. A failure to keep it is logged and the summary served anyway."""
    try:
        await query.store_summary(db, key, film_id, model, summary)
    except Exception as exc:  # a cache that cannot be written is no error to the client
        log.warning("summary.store_failed", film_id=film_id, error=type(exc).__name__)


async def _draft(
    ai: AIRuntime, arguments: KernelArguments, film_id: int
) -> tuple[SummaryDraft, int]:
    for attempt in range(1, ATTEMPTS + 1):
        text = await invoke_function(ai, SUMMARY_FUNCTION, arguments)
        try:
            return SummaryDraft.model_validate_json(text), attempt
        except ValidationError as exc:
            log.warning(
                "summary.invalid_model_output",
                film_id=film_id,
                attempt=attempt,
                errors=exc.error_count(),
            )
    ai_bad_output("summary")
    raise BadGatewayError(
        f"The language model did not return valid JSON for the summary schema "
        f"after {ATTEMPTS} attempts; please retry."
    )
