"""The offline router's answers: facts from a tool's rows, words from here.

An answer says what was looked up ("Comedy films rated G (11): ..."), so that a partly
understood question is answered for what was understood, and a "no" is only ever the
database's no for exactly that.
"""

from typing import Any

from features.ai_handoff.understanding import FilmQuery, Understanding

# What each MPAA rating means, for "can my 12 year old watch it".
RATING_MEANS = {
    "G": "general audiences, all ages admitted",
    "PG": "parental guidance suggested",
    "PG-13": "parents strongly cautioned: some material may be inappropriate under 13",
    "R": "restricted: under 17 requires an accompanying parent or adult guardian",
    "NC-17": "no one 17 and under admitted",
}
SORT_WORDS = {
    "price": "cheapest first",
    "price_desc": "most expensive first",
    "length": "shortest first",
    "length_desc": "longest first",
    "popular": "most rented first",
}


def _price(value: float) -> str:
    return f"${value:.2f}"


def _name(name: str) -> str:
    return name.title()


def _film_line(film: dict[str, Any]) -> str:
    facts = [film["rating"] or "not rated"]
    if film.get("category"):
        facts.append(film["category"])
    if film.get("length"):
        facts.append(f"{film['length']} min")
    facts.append(_price(film["rental_rate"]))
    return f"{film['title']} ({', '.join(facts)})"


def _inside(what: str) -> str:
    """A description from describe() inside a sentence: "films ..." lower case, a category
    name ("Sci-Fi films") as it is."""
    return "f" + what[1:] if what.startswith("Films") else what


def describe(films: FilmQuery) -> str:
    """What a film search looked for, in words: "Comedy films rated G under 90 minutes"."""
    noun = f"{films.category} films" if films.category else "films"
    if films.streaming:
        noun = f"{noun} streaming now"
    parts = [noun]
    if films.rating:
        parts.append(f"rated {films.rating}")
    if films.actor:
        parts.append(f"with {_name(films.actor)}")
    if films.text:
        parts.append(f"matching “{films.text}”")
    if films.max_price is not None:
        parts.append(f"at most {_price(float(films.max_price))}")
    if films.min_length is not None and films.max_length is not None:
        parts.append(f"of {films.min_length} to {films.max_length} minutes")
    elif films.min_length is not None:
        parts.append(f"of {films.min_length} minutes or more")
    elif films.max_length is not None:
        parts.append(f"of {films.max_length} minutes or less")
    text = " ".join(parts)
    return text[0].upper() + text[1:]


def film_list(u: Understanding, films: FilmQuery, data: dict[str, Any]) -> str:
    total, rows = data["total"], data["films"]
    what = describe(films)
    if not rows:
        return f"We have no {_inside(what)}."
    if u.superlative and films.sort:
        first = rows[0]
        ties = [f for f in rows if _sort_key(f, films.sort) == _sort_key(first, films.sort)]
        label = SORT_WORDS[films.sort].removesuffix(" first")
        head = ", ".join(_film_line(f) for f in ties)
        # Every film shown ties, and there are more: others may tie too.
        more = " … and others tie with them" if len(ties) == len(rows) < total else ""
        return f"The {label} of our {_inside(what)}: {head}{more}."
    order = f", {SORT_WORDS[films.sort]}" if films.sort else ""
    listed = "; ".join(_film_line(f) for f in rows)
    more = f" … and {total - len(rows)} more" if total > len(rows) else ""
    lead = f"We have {total} " if u.count else f"{what} ({total}{order}): "
    if u.count:
        return f"{lead}{_inside(what)}{order}. For example: {listed}{more}."
    return f"{lead}{listed}{more}."


def _sort_key(film: dict[str, Any], sort: str) -> Any:
    """What a sort orders by, to find the films tied with the first."""
    if sort.startswith("price"):
        return film["rental_rate"]
    if sort == "popular":
        return film["times_rented"]
    return film["length"]


def film_details(u: Understanding, data: dict[str, Any]) -> str:
    if not data["found"]:
        return f"We have no film titled “{data['title']}”."
    title = data["title"]
    said: list[str] = []
    for intent in u.film_intents or ("price",):
        if intent == "cast":
            cast = ", ".join(_name(n) for n in data["cast"])
            said.append(
                f"{title} stars {cast} ({len(data['cast'])} actors)."
                if cast
                else f"We have no cast listed for {title}."
            )
        elif intent == "about":
            said.append(f"{title}: {data['description']}.")
        elif intent == "length":
            said.append(f"{title} runs {data['length']} minutes.")
        elif intent == "year":
            said.append(f"{title} came out in {data['release_year']}.")
        elif intent == "rating":
            rating = data["rating"]
            said.append(
                f"{title} is rated {rating} ({RATING_MEANS[rating]})."
                if rating in RATING_MEANS
                else f"{title} is not rated."
            )
        elif intent == "price":
            said.append(
                f"{title} rents for {_price(data['rental_rate'])} for {data['rental_days']} days."
            )
    facts = [data["rating"] or "not rated", data["category"] or "no category"]
    facts += [f"{data['release_year']}", f"{data['length']} min"]
    summary = f"({title}: {', '.join(f for f in facts if f)}, {_price(data['rental_rate'])}"
    summary += ", streams now)" if data["streaming"] else ")"
    return " ".join(dict.fromkeys(said)) + " " + summary


def availability(data: dict[str, Any]) -> str:
    if not data["found"]:
        return f"We have no film titled “{data['title']}”."
    title, stores = data["title"], data["stores"]
    if not stores:
        return f"We hold no copies of {title}: 0 in any store."
    per_store = "; ".join(
        f"store {s['store_id']}: {s['in_stock']} of {s['copies']} in" for s in stores
    )
    return (
        f"{title}: {data['in_stock']} of our {data['copies']} copies are in ({per_store}). "
        f"It rents for {_price(data['rental_rate'])}."
    )


def categories(data: dict[str, Any]) -> str:
    listed = ", ".join(f"{c['name']} ({c['films']})" for c in data["categories"])
    return f"Our {len(data['categories'])} categories: {listed}."


def top_actors(data: dict[str, Any]) -> str:
    listed = ", ".join(f"{_name(a['name'])} ({a['films']} films)" for a in data["actors"])
    return f"The actors in the most of our films: {listed}."


def customer_rentals(data: dict[str, Any]) -> str:
    if not data["found"]:
        return f"There is no customer {data['customer_id']}."
    if not data["rentals"]:
        return f"{data['name']} (customer {data['customer_id']}) has no rentals."
    rentals = "; ".join(
        f"{r['title']}, rented {r['rented']}, "
        + (f"returned {r['returned']}" if r["returned"] else "not returned yet")
        for r in data["rentals"]
    )
    return f"Recent rentals of {data['name']} (customer {data['customer_id']}): {rentals}."


def rental_terms(data: dict[str, Any]) -> str:
    rates = [r["rental_rate"] for r in data["rates"]]
    if not rates:
        return "We have no films to rent yet, so there are no rental terms."
    prices = ", ".join(_price(r) for r in rates[:-1]) + f" or {_price(rates[-1])}"
    counts = ", ".join(str(r["films"]) for r in data["rates"])
    days, lost = data["days"], data["replacement_cost"]
    return (
        f"A rental costs {prices if len(rates) > 1 else _price(rates[0])}, depending on the "
        f"film ({counts} films), and lasts {days['min']} to {days['max']} days, also by film. "
        f"A lost or damaged copy costs its replacement price, {_price(lost['min'])} to "
        f"{_price(lost['max'])}. Ask me about a film for its own price and days."
    )


def not_known(topic: str) -> str:
    """A store question the database cannot answer: said so, never guessed."""
    return (
        f"I have nothing on {topic}: the store's database holds our films, their prices and "
        "rental days, and the copies in each store. Please ask the staff at the store."
    )


def namesakes(names: tuple[str, ...]) -> str:
    listed = ", ".join(_name(n) for n in names)
    return f"Which one do you mean? Our actors with that name: {listed}."


WHAT_I_CAN_DO = (
    "I can look up our films: a title's price, copies in each store, story, cast, length or "
    "rating; films by category, rating, actor, price or length; or a topic, like “a shark”."
)
