"""The offline router's answers: facts from a tool's rows, words from here.

An answer says what was looked up ("Comedy films rated G (11): ..."), so that a partly
understood question is answered for what was understood, and a "no" is only ever the
database's no for exactly that.
"""

import re
from dataclasses import replace

from features.ai_handoff.results import (
    Availability,
    Categories,
    CustomerRentals,
    FilmFacts,
    FilmRenters,
    FilmRow,
    FoundFilms,
    Rental,
    RentalTerms,
    StaffList,
    StaffMember,
    StoreCopies,
    StoreFacts,
    Stores,
    TopActors,
    TopCustomers,
    Totals,
)
from features.catalogue.understanding import FilmQuery, Understanding
from features.films.query import SORT_WORDS

# What each MPAA rating means, for "can my 12 year old watch it".
RATING_MEANS = {
    "G": "general audiences, all ages admitted",
    "PG": "parental guidance suggested",
    "PG-13": "parents strongly cautioned: some material may be inappropriate under 13",
    "R": "restricted: under 17 requires an accompanying parent or adult guardian",
    "NC-17": "no one 17 and under admitted",
}


def _price(value: float) -> str:
    return f"${value:.2f}"


def _name(name: str) -> str:
    return name.title()


def _film_line(film: FilmRow) -> str:
    facts = [film.rating or "not rated"]
    if film.category:
        facts.append(film.category)
    if film.length:
        facts.append(f"{film.length} min")
    facts.append(_price(film.rental_rate))
    return f"{film.title} ({', '.join(facts)})"


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
    if films.actors:
        parts.append(f"with {_and([_name(a) for a in films.actors])} together")
    if films.titles:
        parts.append("among those just named")
    if films.title:
        parts.append(f"titled with “{films.title}”")
    if films.text:
        parts.append(f"matching “{films.text}”")
    if films.feature:
        parts.append(f"with {films.feature}")
    if films.language:
        parts.append(f"in {films.language}")
    if films.min_price is not None and films.min_price == films.max_price:
        parts.append(f"at {_price(float(films.min_price))}")
    elif films.max_price is not None:
        parts.append(f"at most {_price(float(films.max_price))}")
    elif films.min_price is not None:
        parts.append(f"at least {_price(float(films.min_price))}")
    if films.min_days is not None:
        parts.append(f"rented for {films.min_days} days or more")
    lengths = ("of {} to {} minutes", "of {} minutes or more", "of {} minutes or less")
    parts += _between(films.min_length, films.max_length, *lengths)
    years = ("released {} to {}", "released in {} or later", "released in {} or earlier")
    parts += _between(films.min_year, films.max_year, *years, same="released in {}")
    text = " ".join(parts)
    return text[0].upper() + text[1:]


def _between(
    low: int | None, high: int | None, both: str, least: str, most: str, same: str | None = None
) -> list[str]:
    """A range said in words: both ends, one, or one value (`same`, when given)."""
    if low is not None and high is not None:
        return [same.format(low) if same and low == high else both.format(low, high)]
    if low is not None:
        return [least.format(low)]
    return [] if high is None else [most.format(high)]


def film_list(u: Understanding, films: FilmQuery, data: FoundFilms) -> str:
    total, rows = data.total, data.films
    what = describe(films)
    if films.title and describe(replace(films, title=None)) == "Films":
        # A title asked for and not placed: a no to that title, and the titles with its words.
        no = f"We have no film titled “{films.title}”"
        if not rows:
            return f"{no}."
        return f"{no} as such; titles with those words: {'; '.join(_film_line(f) for f in rows)}."
    if not rows:
        return f"We have no {_inside(what)}."
    if u.superlative and films.sort:
        first = rows[0]
        ties = [f for f in rows if f.sorted_on == first.sorted_on]
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


def film_details(u: Understanding, data: FilmFacts) -> str:
    title = data.title
    said: list[str] = []
    for intent in u.film_intents or ("price",):
        if intent == "cast":
            cast = ", ".join(_name(n) for n in data.cast)
            said.append(
                f"{title} stars {cast} ({len(data.cast)} actors)."
                if cast
                else f"We have no cast listed for {title}."
            )
        elif intent == "about":
            said.append(f"{title}: {data.description}.")
        elif intent == "length":
            said.append(
                f"{title} runs {data.length} minutes."
                if data.length
                else f"We have no length on record for {title}."
            )
        elif intent == "year":
            said.append(
                f"{title} came out in {data.release_year}."
                if data.release_year
                else f"We have no release year on record for {title}."
            )
        elif intent == "rating":
            rating = data.rating
            said.append(
                f"{title} is rated {rating} ({RATING_MEANS[rating]})."
                if rating in RATING_MEANS
                else f"{title} is not rated."
            )
        elif intent == "price":
            said.append(
                f"{title} rents for {_price(data.rental_rate)} for {data.rental_days} days."
            )
        elif intent == "availability":
            said.append(f"Yes, we carry {title}.")
        elif intent == "features":
            features = data.special_features
            said.append(
                f"{title} comes with {_and(features)}."
                if features
                else f"{title} has no special features."
            )
        elif intent == "replacement":
            said.append(
                f"A lost or damaged copy of {title} costs {_price(data.replacement_cost)} "
                "to replace."
            )
        elif intent == "language":
            said.append(f"{title} is in {data.language}.")
        elif intent == "category":
            said.append(
                f"{title} is in our {data.category} category."
                if data.category
                else f"{title} has no category."
            )
    facts = [data.rating or "not rated", data.category or "no category"]
    facts += [str(data.release_year or ""), f"{data.length} min" if data.length else ""]
    summary = f"({title}: {', '.join(f for f in facts if f)}, {_price(data.rental_rate)}"
    summary += ", streams now)" if data.streaming else ")"
    return " ".join(dict.fromkeys(said)) + " " + summary


def availability(u: Understanding, data: Availability) -> str:
    """Copies in and out, per store; a store the question named first, with a no if it has
    none."""
    title, stores = data.title, data.stores
    if not stores:
        return f"We hold no copies of {title}: 0 in any store."
    per_store = "; ".join(f"{_store_name(s)}: {s.in_stock} of {s.copies} in" for s in stores)
    held = {s.store_id for s in stores}
    named = [n for n in dict.fromkeys((*u.linked.stores, u.store_id)) if n is not None]
    lead = "".join(f"Store {n} has no copies of {title}. " for n in named if n not in held)
    for s in stores:
        if s.store_id not in named:
            continue
        # The store asked about, answered first: a no when all its copies are out.
        lead += (
            f"{_upper_first(_store_name(s))} has none of its {s.copies} copies of {title} in "
            "right now: all are out. "
            if not s.in_stock
            else f"Yes: {_store_name(s)} has {s.in_stock} of its {s.copies} copies in. "
        )
    return (
        f"{lead}{title}: {data.in_stock} of our {data.copies} copies are in ({per_store}). "
        f"It rents for {_price(data.rental_rate)}."
    )


def categories(data: Categories) -> str:
    listed = ", ".join(f"{c.name} ({c.films})" for c in data.categories)
    return f"Our {len(data.categories)} categories: {listed}."


def top_actors(data: TopActors) -> str:
    listed = ", ".join(f"{_name(a.name)} ({a.films} films)" for a in data.actors)
    return f"The actors in the most of our films: {listed}."


def _rentals(rentals: list[Rental]) -> str:
    return "; ".join(
        f"{r.title}, rented {r.rented}, "
        + (f"returned {r.returned}" if r.returned else "not returned yet")
        for r in rentals
    )


def customer(u: Understanding, data: CustomerRentals) -> str:
    """A customer's card, for what was asked of them (staff only)."""
    who = f"{data.name} (customer {data.customer_id})"
    if u.intent == "customer_contact":
        email = f"e-mail {data.email}, " if data.email else ""
        return (
            f"{who}: {email}address {data.address}, phone {data.phone or 'none on file'}; "
            f"a customer of store {data.store_id} ({data.store_city}, {data.store_country})."
        )
    if u.intent == "customer_paid":
        times = "payment" if data.payments == 1 else "payments"
        return (
            f"{who} has paid {_price(data.paid)} in all, in {data.payments} {times}, "
            f"for {data.rented} rentals."
        )
    if u.intent == "customer_out":
        if not data.out_now:
            return f"{who} has nothing out: every rental is returned."
        return f"{who} has {len(data.out_now)} out now: {_rentals(data.out_now)}."
    contact = f", {data.email}" if data.email else ""
    if not data.rentals:
        return f"{data.name} (customer {data.customer_id}{contact}) has no rentals."
    return (
        f"{data.name} (customer {data.customer_id}{contact}) has rented {data.rented} times; "
        f"the latest: {_rentals(data.rentals)}."
    )


def top_customers(data: TopCustomers) -> str:
    """The customers who rent or pay the most (staff only)."""
    most = "paid the most" if data.by == "paid" else "rented the most"
    listed = "; ".join(
        f"{c.name} (customer {c.customer_id}): {c.rented} rentals, {_price(c.paid)} paid"
        for c in data.customers
    )
    return f"The customers who {most}: {listed}." if listed else "We have no customers yet."


def film_renters(data: FilmRenters) -> str:
    """Who has the film out, or who had it last (staff only)."""
    out = [r for r in data.renters if r.returned is None]
    if out:
        listed = "; ".join(
            f"{r.name} (customer {r.customer_id}, {r.email}), since {r.rented}, store {r.store_id}"
            for r in out
        )
        return f"{data.title} is out with {listed}."
    if not data.renters:
        return f"No one has rented {data.title} yet."
    last = data.renters[0]
    return (
        f"No copy of {data.title} is out. Last rented by {last.name} (customer "
        f"{last.customer_id}, {last.email}) on {last.rented}, returned {last.returned}."
    )


def rental_terms(data: RentalTerms) -> str:
    rates = [r.rental_rate for r in data.rates]
    if not rates:
        return "We have no films to rent yet, so there are no rental terms."
    prices = ", ".join(_price(r) for r in rates[:-1]) + f" or {_price(rates[-1])}"
    counts = ", ".join(str(r.films) for r in data.rates)
    days, lost = data.days, data.replacement_cost
    # There are films, so there are terms.
    assert days is not None
    assert lost is not None
    return (
        f"A rental costs {prices if len(rates) > 1 else _price(rates[0])}, depending on the "
        f"film ({counts} films), and lasts {days.min} to {days.max} days, also by film. "
        f"A lost or damaged copy costs its replacement price, {_price(lost.min)} to "
        f"{_price(lost.max)}. Ask me about a film for its own price and days."
    )


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" and {items[-1]}"


def not_held(topic: str, film: str | None) -> str:
    """A question the database cannot answer: said so, never guessed."""
    of = f" (asked of {film})" if film else ""
    return (
        f"I have nothing on {topic}{of}: we have no such record. The store's database holds "
        "our films (story, cast, category, rating, length, language, special features, price, "
        "rental days, replacement cost), the copies in each store, and the stores themselves. "
        "Please ask the staff at the store."
    )


STAFF_ONLY = (
    "Sorry, no: a customer's rentals are shown to signed-in staff only, and this chat is not "
    "signed in."
)
WHICH_CUSTOMER = "Which customer? Tell me their customer number, e.g. “customer 5”."


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _store_name(store: StoreFacts | StoreCopies | StaffMember) -> str:
    return f"store {store.store_id} ({store.city})"


_PHONE = re.compile(r"\b(phone|telephone|tel|ring|call)\b")


# A place a store is asked for ("is there a branch in toronto"), unless it says no place.
_PLACE_ASKED = re.compile(
    r"\b(?:stores?|shops?|branch(?:es)?|locations?)\b[^?.!]{0,20}?\b(?:in|near)\s+"
    r"(?!(?:my|your|ur|the|a|an|this|that|our|another|other)\b)([a-z]+(?: [a-z]+)?)"
)


def _elsewhere(u: Understanding, every: list[StoreFacts]) -> str:
    """ "No: ..." when the question asks for a store in a place none of ours is in."""
    match = _PLACE_ASKED.search(u.question.lower())
    if match is None or u.intent != "store_location":
        return ""
    place = match.group(1)
    ours = {part.lower() for s in every for part in (s.city, s.country, s.district)}
    if any(word in ours for word in (place, place.split()[0])):
        return ""
    return f"No: we have no store in {place.title()}. "


def stores(u: Understanding, data: Stores) -> str:
    """The stores, for what was asked of them: where, who manages, how much they hold."""
    every = data.stores
    if not every:
        return "We have no stores on record."
    named = {u.store_id, *u.linked.stores}
    # A store asked of by the member of staff who manages it ("the store mike hillyer runs").
    asked = [s for s in every if s.store_id in named or (s.manager or "") in u.linked.staff]
    shown = asked or every
    lead = "" if asked else f"{_elsewhere(u, every)}We have {len(every)} stores. "
    # Where each one is goes with any answer about it ("what country is the second store in").
    where = {s.store_id: f" ({s.address}, {s.city}, {s.country})" for s in shown}
    if u.intent == "store_manager":
        lines = [
            f"{_upper_first(_store_name(s))} is managed by {s.manager}{where[s.store_id]}"
            for s in shown
        ]
    elif u.intent == "store_copies":
        lines = [
            f"{_upper_first(_store_name(s))} holds {s.copies} copies of {s.films} films"
            f"{where[s.store_id]}"
            for s in shown
        ]
        if not asked and len(every) > 1:
            most = max(every, key=lambda s: s.copies)
            lines.insert(0, f"{_upper_first(_store_name(most))} holds the most")
            lines.append(f"{sum(s.copies for s in every)} copies in all")
    elif u.intent == "customer_count":
        lines = [
            f"{_upper_first(_store_name(s))} has {s.customers} customers signed up" for s in shown
        ]
        if not asked and len(every) > 1:
            lines.append(f"{sum(s.customers for s in every)} customers in all")
    else:
        if _PHONE.search(u.question.lower()):
            # A phone asked for that is not on file: said so, never left out unsaid.
            lead += "".join(
                f"There is no phone number on record for {_store_name(s)}. "
                for s in shown
                if not s.phone
            )
        lines = [
            f"{_upper_first(_store_name(s))}: {s.address}, {s.district}, {s.city}, "
            f"{s.country}{f' (phone {s.phone})' if s.phone else ''}, managed by {s.manager}"
            for s in shown
        ]
    return lead + "; ".join(lines) + "."


def staff(u: Understanding, data: StaffList) -> str:
    """The staff, or those the question named: names and stores, nothing else."""
    everyone = data.staff
    people = [p for p in everyone if p.name in u.linked.staff] or everyone
    if not people:
        return "We have no staff on record."
    listed = "; ".join(
        f"{p.name} ({_store_name(p)}{', manager' if p.manager else ''})" for p in people
    )
    return f"Our staff ({len(people)}): {listed}."


def totals(data: Totals) -> str:
    spoken = f" ({_and(data.film_languages)})" if data.film_languages else ""
    return (
        f"Our catalogue has {data.films} films with {data.actors} actors in "
        f"{data.categories} categories, in {data.languages} "
        f"language{'' if data.languages == 1 else 's'}{spoken}; the "
        f"{data.stores} stores hold {data.copies} copies, {data.out_now} of them out right now, "
        f"for {data.customers} customers."
    )


def averages(data: Totals) -> str:
    """The catalogue's averages: length, rental rate, replacement cost."""
    if data.average_length is None or data.average_rental_rate is None:
        return "We have no films yet, so no averages."
    cost = data.average_replacement_cost
    return (
        f"Across our {data.films} films: on average {data.average_length:.2f} minutes long, "
        f"{_price(data.average_rental_rate)} to rent"
        + (f", and {_price(cost)} to replace if lost." if cost is not None else ".")
    )


def overdue(data: Totals) -> str:
    """The rentals out longer than their film's rental period."""
    if not data.overdue:
        return "Nothing is overdue: every copy out is within its rental period."
    return (
        f"{data.overdue} rentals are overdue right now (out longer than their film's rental "
        f"period), held by {data.overdue_customers} customers; {data.out_now} copies are out "
        "in all."
    )


def languages(data: Totals) -> str:
    """The languages our films are in."""
    if not data.film_languages:
        return "We have no films yet, so none in any language."
    if len(data.film_languages) == 1:
        return f"All our {data.films} films are in {data.film_languages[0]}."
    return f"Our {data.films} films are in {_and(data.film_languages)}."


def namesakes(names: tuple[str, ...]) -> str:
    listed = ", ".join(_name(n) for n in names)
    return f"Which one do you mean? Our actors with that name: {listed}."
