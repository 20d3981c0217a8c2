"""The store agent's offline "model": a deterministic router written as a Semantic Kernel chat
service, for the embedded local model, which cannot call tools.

It makes the moves a tool-calling model would, through the same orchestration: on a question,
it reads it in the light of the conversation (features/catalogue/understanding.py) and calls the
store tool that answers it, or `transfer_to_` the general agent; on a tool's result, it writes
the answer from the rows (answers.py), or, when a topic narrowed a search to nothing, searches
once more without it. Every fact it states comes from the database.
"""

from collections.abc import Awaitable, Callable
from dataclasses import replace

from pydantic import PrivateAttr
from semantic_kernel.contents import ChatHistory, FunctionResultContent

from features.ai_handoff import answers
from features.ai_handoff.computed_chat import Call, ComputedToolCaller, Reply
from features.ai_handoff.results import (
    Availability,
    Categories,
    CustomerNotFound,
    CustomerRentals,
    FilmFacts,
    FilmNotFound,
    FilmRenters,
    FoundFilms,
    RentalTerms,
    StaffList,
    Stores,
    ToolError,
    ToolResult,
    TopActors,
    TopCustomers,
    Totals,
)
from features.ai_handoff.tools import (
    CATALOGUE_TOTALS,
    CUSTOMER_RENTALS,
    CUSTOMERS_PLUGIN,
    FILM_AVAILABILITY,
    FILM_DETAILS,
    FILM_RENTERS,
    FIND_FILMS,
    HANDOFF_TO_GENERAL,
    LIST_CATEGORIES,
    RENTAL_TERMS,
    STAFF,
    STORE_PLUGIN,
    STORES,
    TOP_ACTORS,
    TOP_CUSTOMERS,
    qualified,
)
from features.catalogue.intents import BY_NAME, CUSTOMER_INTENTS, TOP_CUSTOMERS_BY
from features.catalogue.understanding import FilmQuery, Understanding
from shared.ai.conversation import exchanges

# Reads a question after the conversation's earlier turns (question, answer), from the database.
ReadQuestion = Callable[[list[tuple[str, str]], str], Awaitable[Understanding]]

# The store-wide intents, and the tool each is answered from.
_STORE_TOOLS = {
    "categories": LIST_CATEGORIES,
    "top_actors": TOP_ACTORS,
    "totals": CATALOGUE_TOTALS,
    "languages": CATALOGUE_TOTALS,
    "rental_terms": RENTAL_TERMS,
    "store_location": STORES,
    "store_manager": STORES,
    "store_copies": STORES,
    "customer_count": STORES,
    "overdue": CATALOGUE_TOTALS,
    "averages": CATALOGUE_TOTALS,
    "staff": STAFF,
}


def first_move(u: Understanding, offered: frozenset[str]) -> Call | Reply:
    """The first move on a question that has been read; `offered` are the agent's functions."""
    if u.intent in CUSTOMER_INTENTS:
        if qualified(CUSTOMERS_PLUGIN, CUSTOMER_RENTALS) not in offered:
            return Reply(answers.STAFF_ONLY)
        if u.customer_id is None:
            return Reply(answers.WHICH_CUSTOMER)
        return Call(qualified(CUSTOMERS_PLUGIN, CUSTOMER_RENTALS), {"customer_id": u.customer_id})
    if (reply := BY_NAME[u.intent].reply) is not None:
        return Reply(reply)
    if (unheld := BY_NAME[u.intent].unheld) is not None:
        return Reply(answers.not_held(unheld, u.film))
    if u.intent in _STORE_TOOLS:
        tool = _STORE_TOOLS[u.intent]
        return Call(qualified(STORE_PLUGIN, tool), {"limit": 5} if tool == TOP_ACTORS else {})
    if (by := TOP_CUSTOMERS_BY.get(u.intent)) is not None:
        if qualified(CUSTOMERS_PLUGIN, TOP_CUSTOMERS) not in offered:
            return Reply(answers.STAFF_ONLY)
        return Call(qualified(CUSTOMERS_PLUGIN, TOP_CUSTOMERS), {"by": by, "limit": 5})
    if u.intent == "film_renters" and u.film is not None:
        if qualified(CUSTOMERS_PLUGIN, FILM_RENTERS) not in offered:
            return Reply(answers.STAFF_ONLY)
        return Call(qualified(CUSTOMERS_PLUGIN, FILM_RENTERS), {"title": u.film})
    if u.film is not None:
        title = u.film
        if "availability" in u.film_intents:  # its answer has the price too
            return Call(qualified(STORE_PLUGIN, FILM_AVAILABILITY), {"title": title})
        return Call(qualified(STORE_PLUGIN, FILM_DETAILS), {"title": title})
    if u.films is not None:
        return find(u.films)
    if u.intent == "find" and u.linked.actor_namesakes:
        return Reply(answers.namesakes(u.linked.actor_namesakes))
    return Call(HANDOFF_TO_GENERAL, {})


def find(films: FilmQuery) -> Call:
    return Call(qualified(STORE_PLUGIN, FIND_FILMS), films.arguments())


def answer(u: Understanding, result: ToolResult, relaxed: bool) -> str:
    """The answer from a tool's result; `relaxed`: the topic was dropped from the search."""
    match result:
        case ToolError(error=error):
            return f"Sorry, I could not look that up: {error} Please try again."
        case FoundFilms() if u.films is not None:
            if relaxed:
                without = replace(u.films, text=None)
                return (
                    f"No film of ours matches all of that: {answers.describe(u.films)} gives "
                    "none. " + answers.film_list(u, without, result)
                )
            return answers.film_list(u, u.films, result)
        case FilmNotFound(title=title):
            return f"We have no film titled “{title}”."
        case FilmFacts():
            return answers.film_details(u, result)
        case Availability():
            return answers.availability(u, result)
        case Categories():
            return answers.categories(result)
        case TopActors():
            return answers.top_actors(result)
        case RentalTerms():
            return answers.rental_terms(result)
        case Stores():
            return answers.stores(u, result)
        case StaffList():
            return answers.staff(u, result)
        case Totals() if u.intent == "languages":
            return answers.languages(result)
        case Totals() if u.intent == "averages":
            return answers.averages(result)
        case Totals() if u.intent == "overdue":
            return answers.overdue(result)
        case Totals():
            return answers.totals(result)
        case CustomerNotFound(customer_id=customer_id):
            return f"There is no customer {customer_id}."
        case CustomerRentals():
            return answers.customer(u, result)
        case FilmRenters():
            return answers.film_renters(result)
        case TopCustomers():
            return answers.top_customers(result)
    return "Done."


class RulesRouterChat(ComputedToolCaller):
    """The store agent's offline "model" for one run: reads the question once, then answers."""

    read_question: ReadQuestion
    _understood: Understanding | None = PrivateAttr(default=None)
    _relaxed: bool = PrivateAttr(default=False)

    async def next_move(self, history: ChatHistory, offered: frozenset[str]) -> Call | Reply:
        last = history.messages[-1]
        results = [item for item in last.items if isinstance(item, FunctionResultContent)]
        if results and self._understood is not None:
            return self._after(results[-1], offered)
        # The client's earlier turns, then the question (the orchestration's messages).
        said = ((m.role.value, m.content) for m in history.messages)
        self._understood = await self.read_question(*exchanges(said))
        move = first_move(self._understood, offered)
        if isinstance(move, Call) and move.function not in offered:
            return Reply("I cannot look that up right now.")
        return move

    def _after(self, result: FunctionResultContent, offered: frozenset[str]) -> Call | Reply:
        u = self._understood
        assert u is not None
        data = result.result
        if not isinstance(data, ToolResult):  # never ours: every store tool returns one
            data = ToolError(error="The store database gave an answer I could not read.")
        films = u.films
        if (
            isinstance(data, FoundFilms)
            and data.total == 0
            and films is not None
            and not u.seeks_films
            and replace(films, text=None, title=None) == FilmQuery()
            and HANDOFF_TO_GENERAL in offered
        ):
            # Words that found nothing, in a question that did not ask for films ("a good snack
            # for a movie night"): not placed in the catalogue, so not a "no": the general
            # agent's.
            return Call(HANDOFF_TO_GENERAL, {})
        if (
            isinstance(data, FoundFilms)
            and not self._relaxed
            and films is not None
            and films.text
            and data.total == 0
            and replace(films, text=None) != FilmQuery()
        ):
            # The topic found nothing among the other filters: say so, and show what is there.
            self._relaxed = True
            return find(replace(films, text=None))
        return Reply(answer(u, data, self._relaxed))
