"""Path parameters every feature uses alike."""

from typing import Annotated

from fastapi import Path

from shared.models import MAX_ID

# Any id in a path (film, customer, rental, subscription): Pagila's keys are `integer`, so a
# larger one is a 422 before any SQL, not a driver error.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
