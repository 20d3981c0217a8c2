"""Film summary: facts from the database, prose from the model, the rule from us."""

from decimal import Decimal
from pathlib import Path

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

log = structlog.get_logger(__name__)

SUMMARY_FUNCTION = KernelFunctionFromPrompt.from_directory(
    str(Path(__file__).parent / "prompts" / "summary"), plugin_name="film"
)
ATTEMPTS = 2  # one retry when the model's output does not fit the schema


def is_recommended(rating: str | None, rental_rate: Decimal) -> bool:
    return rating in RECOMMENDED_RATINGS and rental_rate < RECOMMENDED_BELOW_RATE


def clip(text: str, limit: int = SUMMARY_MAX_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


async def summarize(ai: AIRuntime, db: Database, film_id: int) -> FilmSummary:
    # One read on a pooled connection, released at once: none is held while the model thinks.
    row = await query.fetch_facts(db, film_id)
    if row is None:
        raise NotFoundError(f"Film {film_id} not found.")
    facts = FilmFacts.from_row(row)

    arguments = KernelArguments(
        settings=ai.execution_settings(
            base=SUMMARY_FUNCTION.prompt_execution_settings.get("default"),
            json_model=SummaryDraft,
            max_tokens=DRAFT_MAX_TOKENS,
        ),
        title=facts.title,
        category=facts.category or "unknown",
        rating=facts.rating or "not rated",
        rental_rate=f"{facts.rental_rate:.2f}",
        length=facts.length or "unknown",
        release_year=facts.release_year or "unknown",
        description=facts.description or "",
        actors=", ".join(facts.actors) or "unknown",
        recommended_rule=RECOMMENDED_RULE,
        summary_max_chars=SUMMARY_MAX_CHARS,
    )
    draft, attempts = await _draft(ai, arguments, film_id)

    truth = FilmSummary(
        title=facts.title,
        rating=facts.rating or "NR",
        recommended=is_recommended(facts.rating, facts.rental_rate),
        summary=clip(draft.summary),
    )
    disagreed = sorted(
        name for name in ("title", "rating", "recommended")
        if getattr(draft, name) != getattr(truth, name)
    )  # fmt: skip
    score = faithfulness(truth.summary, facts)
    # Scores and counts only: the summary's text is not logged at INFO.
    log.info(
        "summary.done",
        film_id=film_id,
        attempts=attempts,
        faithfulness=score.score,
        unsupported_words=len(score.unsupported),
        unsupported_names=len(score.unsupported_names),
        model_disagreed=disagreed or None,
    )
    return truth


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
    raise BadGatewayError(
        f"The language model did not return valid JSON for the summary schema "
        f"after {ATTEMPTS} attempts; please retry."
    )
