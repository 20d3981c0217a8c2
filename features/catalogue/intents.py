"""What a store question can ask, as data: each intent with what it needs and the phrasings
that ask it. The offline router picks the intent whose phrasing is nearest to the question's
own words (the catalogue's names taken out), by stems from PostgreSQL's English stemmer and
weights that favour the words few intents share (see `IntentIndex`).

Adding a capability is one entry here, with its answer in answers.py and its tool call in
rules_router.py: what is asked is never matched by a pattern of its own (patterns read only
the slots: bounds, ratings, orders, pronouns).
"""

import difflib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

IntentName = Literal[
    # about one film (needs one: named, or from the conversation)
    "price",
    "availability",
    "cast",
    "about",
    "length",
    "year",
    "rating",
    "features",
    "replacement",
    "language",
    "category",
    # what the database does not hold: said so, never left to a model's guess
    "director",
    "awards",
    "box_office",
    "reviews",
    "hours",
    "late_fees",
    "at_once",
    "membership",
    "delivery",
    "elsewhere",
    "passwords",
    # films found by filters, a topic or an order
    "find",
    # the store and its catalogue as a whole
    "categories",
    "top_actors",
    "totals",
    "rental_terms",
    "languages",
    "store_location",
    "store_manager",
    "store_copies",
    "customer_count",
    "overdue",
    "averages",
    "staff",
    "customer_rentals",
    "customer_contact",
    "customer_paid",
    "customer_out",
    "film_renters",
    "top_renters",
    "top_spenders",
    # anything else: the general agent's
    "general",
]


@dataclass(frozen=True)
class Intent:
    name: IntentName
    examples: tuple[str, ...]
    needs_film: bool = False
    unheld: str | None = None  # what the database does not hold, in words
    # Asked of people, not films: only a question that says who it is about can ask it
    # ("which films get rented the most" is the films' order, not the top customers).
    of_people: bool = False
    reply: str | None = None  # the answer, whatever is asked (no tool, no model)


# The catalogue's names never appear here: they are slots, taken out of a question before it
# is compared. "it" stands for the film a question is about.
INTENTS: tuple[Intent, ...] = (
    Intent(
        "price",
        (
            "how much is it",
            "how much to rent it",
            "what does it cost",
            "price of it",
            "whats the rental price",
            "rental rate for it",
            "how much do you charge for it",
            "how long can i keep it",
            "how many days do i get",
            "when is it due back",
            "rental period for it",
            "is it expensive",
            "is it cheap",
            "ok so how much is it then",
        ),
        needs_film=True,
    ),
    Intent(
        "availability",
        (
            "do you have it",
            "have you got it",
            "is it in stock",
            "is it available",
            "can i rent it today",
            "any copies in",
            "how many copies",
            "is there a copy on the shelf",
            "which store has it",
            "at which store",
            "is it in at the store",
            "do you carry it",
            "do you stock it",
            "is it out",
            "got it in",
            "can i get it",
            "do u have it",
            "u got it",
        ),
        needs_film=True,
    ),
    Intent(
        "cast",
        (
            "who is in it",
            "who stars in it",
            "cast of it",
            "actors in it",
            "who acts in it",
            "who plays in it",
            "who was in it",
            "starring",
            "who appears in it",
            "and who else is in it",
            "ok who is in it then",
        ),
        needs_film=True,
    ),
    Intent(
        "about",
        (
            "what is it about",
            "whats the plot",
            "tell me about it",
            "describe it",
            "story of it",
            "synopsis",
            "what happens in it",
            "give me a summary",
            "what kind of story is it",
            "info on it",
            "ok what is it about then",
        ),
        needs_film=True,
    ),
    Intent(
        "length",
        (
            "how long is it",
            "runtime",
            "how many minutes is it",
            "length of it",
            "running time",
            "duration",
            "is it long",
            "how long does it run",
        ),
        needs_film=True,
    ),
    Intent(
        "year",
        (
            "what year did it come out",
            "when was it released",
            "release year",
            "how old is it",
            "when did it come out",
            "is it a new film",
        ),
        needs_film=True,
    ),
    Intent(
        "rating",
        (
            "what is it rated",
            "whats the rating",
            "is it ok for kids",
            "can my 12 year old watch it",
            "is it suitable for children",
            "age rating",
            "is it family friendly",
            "mpaa rating",
        ),
        needs_film=True,
    ),
    Intent(
        "features",
        (
            "special features",
            "what extras does it have",
            "does it have deleted scenes",
            "does it come with a commentary",
            "does it have trailers",
            "any behind the scenes",
            "bonus material on the dvd",
            "whats on the disc",
        ),
        needs_film=True,
    ),
    Intent(
        "replacement",
        (
            "replacement cost",
            "what if i lose it",
            "how much if i break it",
            "if i damage the dvd what do i pay",
            "lost dvd fee",
            "how much to replace it",
            "what do i owe if its scratched",
            "the disc snapped what do i owe you",
            "i broke it how much do i pay",
        ),
        needs_film=True,
    ),
    Intent(
        "language",
        (
            "what language is it in",
            "is it in english",
            "language of it",
            "is it dubbed",
            "original language",
            "is it a foreign language film",
            "is it subtitled",
            "does it have subtitles",
            "is it in english or another language",
        ),
        needs_film=True,
    ),
    Intent(
        "category",
        (
            "what genre is it",
            "what category is it",
            "what kind of film is it",
            "is it a comedy or a drama",
            "genre of it",
        ),
        needs_film=True,
    ),
    Intent(
        "director",
        ("who directed it", "director of it", "who made it", "who was the director"),
        needs_film=True,
        unheld="who directed a film",
    ),
    Intent(
        "awards",
        (
            "did it win an oscar",
            "awards it won",
            "was it nominated",
            "any awards",
            "oscar winners",
            "award winning films",
        ),
        needs_film=True,
        unheld="awards",
    ),
    Intent(
        "box_office",
        ("box office", "how much money did it make", "what was the budget", "gross"),
        needs_film=True,
        unheld="box office takings or budgets",
    ),
    Intent(
        "reviews",
        (
            "reviews",
            "imdb score",
            "is it any good critics",
            "what do critics say",
            "rotten tomatoes",
        ),
        needs_film=True,
        unheld="reviews or scores",
    ),
    Intent(
        "hours",
        (
            "what time do you open",
            "opening hours",
            "are you open on sundays",
            "when do you close",
            "open today",
        ),
        unheld="opening hours",
    ),
    Intent(
        "late_fees",
        ("late fees", "what if i return it late", "overdue charge", "penalty for late return"),
        unheld="late fees",
    ),
    Intent(
        "at_once",
        ("how many can i rent at once", "how many dvds at a time", "limit on rentals"),
        unheld="how many films you can rent at once",
    ),
    Intent(
        "membership",
        ("do you have a membership", "how do i sign up", "loyalty card", "become a member"),
        unheld="memberships",
    ),
    Intent(
        "delivery",
        ("do you deliver", "can you mail it to me", "home delivery", "shipping"),
        unheld="delivery",
    ),
    Intent(
        "elsewhere",
        (
            "is it on netflix",
            "can i stream it on amazon prime",
            "is it on disney plus or hulu",
            "where else can i watch it",
            "which streaming services have it",
        ),
        unheld="what other shops or streaming services carry",
    ),
    Intent(
        "passwords",
        (
            "whats the password",
            "forgot my password",
            "reset his password",
            "login details",
            "what is the pin",
        ),
        reply="Sorry, no: passwords are never shown to anyone, staff included, and there is no "
        "way to look one up here. A member of staff can be given a new one.",
    ),
    Intent(
        "find",
        (
            "do you have any films",
            "show me some movies",
            "looking for a movie",
            "recommend a film",
            "suggest something to watch",
            "any good movies",
            "films with an actor",
            "movies about something",
            "list the films",
            "what films do you have",
            "something for tonight",
            "find me a dvd",
            "which movies are",
            "films under two hours",
            "the cheapest movie",
            "the longest film",
            "how many films are rated",
            "what can i stream",
            "only the ones under an hour",
            "which of those is the cheapest",
            "any of them",
            "what about",
            "what has he been in",
            "what movies is she in",
            "how many films is an actor in",
            "do you have a movie about",
            "anything with",
            "something good please",
            "ok then show me some films",
            "the longest film in the catalogue",
            "got anything like that",
            "films under 2 dollars",
            "whats popular",
            "something set in",
            "in the comedy section",
            "on the horror shelf",
            "im looking for something",
        ),
    ),
    Intent(
        "categories",
        (
            "what genres do you have",
            "list the categories",
            "what kinds of films do you have",
            "types of movies",
            "name the genres you have",
            "which categories are there",
            "sorts of films",
            "which genre has the most films",
            "biggest category",
        ),
    ),
    Intent(
        "top_actors",
        (
            "most prolific actors",
            "who acts in the most films",
            "top actors",
            "which actor has the most movies",
            "which actor has been in the most films",
            "busiest actors",
        ),
    ),
    Intent(
        "totals",
        (
            "how many films do you have",
            "how big is your catalogue",
            "how many movies in total",
            "how many actors are there",
            "number of actors",
            "how many categories",
            "total number of titles",
            "how many dvds do you have altogether",
            "size of the collection",
            "how many languages",
            "how many copies are out right now",
        ),
    ),
    Intent(
        "rental_terms",
        (
            "how much is a rental",
            "how long can i keep a dvd",
            "what do you charge for movies",
            "rental period",
            "how much does renting cost",
            "prices for rentals",
            "how many days is a rental",
            "what are your rates",
            "how long do rentals last",
            "whats the range of rental prices",
            "price range of rentals",
            "from the cheapest rental to the dearest",
            "whats the most you charge to rent a movie",
        ),
    ),
    Intent(
        "languages",
        (
            "what languages are the films in",
            "which languages are the movies in",
            "which languages do the films come in",
        ),
    ),
    Intent(
        "store_location",
        (
            "where are your stores",
            "where is the store",
            "store address",
            "phone number of the store",
            "where are you located",
            "which city are the shops in",
            "how many stores do you have",
            "locations",
            "how do i find the shop",
            "what country",
            "tell me about the stores",
            "is there a branch in my city",
            "do you have a shop in another town",
        ),
    ),
    Intent(
        "store_manager",
        (
            "who manages the store",
            "who is the manager",
            "store manager",
            "who runs the shop",
            "who is in charge of the second store",
            "boss of the store",
        ),
    ),
    Intent(
        "store_copies",
        (
            "how many copies does the store have",
            "how many dvds in the store",
            "inventory of each store",
            "how many copies in total",
            "stock at the first store",
            "how big is each shop",
            "which store has more films",
            "which store has more copies",
            "which of the locations holds more dvds overall",
            "copies at each location",
            "dvds the shop holds in total",
            "which store has the bigger collection",
            "how many different titles does the store carry",
        ),
    ),
    Intent(
        "staff",
        (
            "who works there",
            "staff names",
            "how many employees",
            "who are the staff",
            "who works at the store",
            "employees",
            "clerks",
            "how many people work there",
            "who is working right now",
        ),
    ),
    Intent(
        "customer_rentals",
        (
            "what did customer rent",
            "rentals of customer",
            "what has the customer rented",
            "customer history",
            "what did she rent recently",
            "recent rentals of a customer",
            "what movies has he rented",
            "show me the customers rentals",
            "customer details",
            "how many rentals does she have",
            "how many times has he rented",
            "rentals on her account",
            "can you tell me what she rented",
            "what films has he rented",
        ),
    ),
    Intent(
        "customer_contact",
        (
            "her email address",
            "what is his phone number",
            "whats their address",
            "how do i contact the customer",
            "where does she live",
            "need his details",
            "pull up her address please",
            "phone no for the customer",
            "which store is she signed up at",
            "which store is he registered at",
            "need a phone number for her",
            "his email address",
        ),
    ),
    Intent(
        "customer_paid",
        (
            "how much has she paid",
            "what has the customer spent in total",
            "total payments of",
            "how much money have we had from him",
            "number of payments from her",
            "can you tell me the total amount she has paid us",
            "how much money has he spent at your store",
        ),
    ),
    Intent(
        "customer_out",
        (
            "does she have anything out",
            "what has he got out right now",
            "what does she have out right now",
            "pull up what she has out",
            "anything not returned yet",
            "is any of it still out",
            "what does the customer still have",
            "overdue copies of a customer",
        ),
    ),
    Intent(
        "film_renters",
        (
            "who has it out",
            "who rented it last",
            "which customer has a copy",
            "who has it out right now",
            "who borrowed it",
        ),
        needs_film=True,
    ),
    Intent(
        "top_renters",
        (
            "which customer has rented the most",
            "who rents the most",
            "our best customers",
            "most active customers",
            "who are our top customers",
        ),
        of_people=True,
    ),
    Intent(
        "customer_count",
        (
            "how many customers do we have",
            "how many customers are registered at the store",
            "number of customers per store",
            "how many members signed up",
            "customer count",
            "how many customers does the store have",
            "total number of customers across the company",
        ),
        of_people=True,
    ),
    Intent(
        "averages",
        (
            "how long is the average film",
            "average rental price",
            "on average how much does a rental cost",
            "mean length of the movies",
            "average replacement cost",
        ),
    ),
    Intent(
        "overdue",
        (
            "how many rentals are overdue",
            "customers with something overdue",
            "late returns right now",
            "how many copies are past due",
            "overdue dvds",
        ),
    ),
    Intent(
        "top_spenders",
        (
            "who is our biggest spender",
            "which customer has paid the most",
            "who spends the most money here",
            "top customers by payments",
            "top customer by total spend",
            "best customer by total payments",
            "who has spent the most",
        ),
        of_people=True,
    ),
    Intent(
        "general",
        (
            "what is the capital of france",
            "tell me a joke",
            "how do i boil an egg",
            "recommend a good book",
            "a novel about the sea",
            "what is the weather like",
            "explain what film noir is",
            "who won the world cup",
            "write a poem",
            "what year did the titanic sink",
            "translate this into french",
            "whats a good name for a cat",
            "a recipe for dinner",
            "what is the meaning of life",
            "how are you",
            "hello",
            "hi there",
            "hey whats up",
            "thanks",
            "what is two plus two",
            "who was the first president",
            "history of cinema",
            "a song",
            "music theory",
            "give me a tip",
            "ok thanks",
            "whats a good way to clean a scratched disc",
            "how do you get scratches out of a disc",
            "a disc that keeps skipping",
            "what does widescreen mean on the box",
            "how do i fix my dvd player",
            "tips for keeping things tidy",
            "who won the oscar for best picture",
            "who directed titanic",
            "how do i get a stain out of a shirt",
            "how many legs does a dog have",
            "why is the sky blue",
            "what should i cook tonight",
            "can you help me with my homework",
            "whats the best pizza topping",
            "how far is the moon",
            "tell me a fun fact",
            "who wrote hamlet",
            "what does this word mean",
            "name three film genres",
        ),
    ),
)

# Things people ask for that are not films: a question asking for one is the general agent's,
# whatever film word it has ("any books like the hobbit", "snacks for a horror movie night").
NOT_FILMS: frozenset[str] = frozenset(
    {"book", "books", "novel", "novels", "podcast", "podcasts", "song", "songs", "album",
     "albums", "band", "bands", "snack", "snacks", "recipe", "recipes", "poem", "poems"}
)  # fmt: skip

BY_NAME: dict[IntentName, Intent] = {intent.name: intent for intent in INTENTS}
FILM_INTENTS: frozenset[IntentName] = frozenset(i.name for i in INTENTS if i.needs_film)
# The customers who rent or pay the most (staff only), and by which.
TOP_CUSTOMERS_BY: dict[IntentName, str] = {"top_renters": "rentals", "top_spenders": "paid"}
# What is asked of one customer (staff only): all answered from the customer's card.
CUSTOMER_INTENTS: frozenset[IntentName] = frozenset(
    {"customer_rentals", "customer_contact", "customer_paid", "customer_out"}
)
WORD = re.compile(r"[a-z0-9]+")  # an example's words: they are written plainly


@dataclass(frozen=True)
class IntentIndex:
    """The examples' stems and each stem's weight: rarer among the intents, heavier."""

    examples: tuple[tuple[IntentName, frozenset[str]], ...]
    weights: dict[str, float]
    unknown_weight: float
    vocabulary: dict[IntentName, frozenset[str]]  # each intent's stems
    shared_by: dict[str, int]  # how many intents' phrasings have a stem
    word_stems: dict[str, str]  # the examples' words, and their stems
    # Typos looked up so far (difflib is slow): the same words come again and again.
    _typos: dict[str, str | None] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, word_stems: dict[str, str]) -> "IntentIndex":
        """`word_stems`: the stem of every word of the examples (from the database)."""
        examples = tuple(
            (intent.name, frozenset(word_stems[w] for w in WORD.findall(example)))
            for intent in INTENTS
            for example in intent.examples
        )
        vocabulary = {
            intent.name: frozenset().union(*(s for n, s in examples if n == intent.name))
            for intent in INTENTS
        }
        shared_by = Counter(stem for stems_ in vocabulary.values() for stem in stems_)
        count = len(INTENTS)
        weights = {stem: math.log(1 + count / seen) for stem, seen in shared_by.items()}
        # A word no example has (a topic, a typo) counts as a rare one: it makes every
        # phrasing a little less near, and a question of only such words near none.
        return cls(
            examples,
            weights,
            unknown_weight=math.log(1 + count),
            vocabulary=vocabulary,
            shared_by=dict(shared_by),
            word_stems=word_stems,
        )

    def scores(self, question: frozenset[str]) -> dict[IntentName, float]:
        """Each intent's nearness to the question: the cosine of weighted stems to its nearest
        example (0 to 1)."""
        if not question:
            return {}
        q_norm = math.sqrt(sum(self._weight(s) ** 2 for s in question))
        best: dict[IntentName, float] = {}
        for name, example in self.examples:
            shared = sum(self._weight(s) ** 2 for s in question & example)
            if not shared:
                continue
            e_norm = math.sqrt(sum(self._weight(s) ** 2 for s in example))
            score = shared / (q_norm * e_norm)
            if score > best.get(name, 0.0):
                best[name] = score
        return best

    def asks(self, stem: str, intent: IntentName) -> bool:
        """Whether a word says what is asked (so is no topic): one that several intents'
        phrasings use, or the chosen intent's own."""
        return self.shared_by.get(stem, 0) > 1 or stem in self.vocabulary.get(intent, ())

    def owns(self, stem: str, intent: IntentName) -> bool:
        """Whether only `intent`'s phrasings use the stem ("password")."""
        return self.shared_by.get(stem, 0) == 1 and stem in self.vocabulary.get(intent, ())

    def misspelt(self, word: str) -> str | None:
        """The examples' word that `word` is a typo of ("languge": "language"), if any."""
        if word not in self._typos:
            if len(self._typos) >= _TYPOS_KEPT:  # bounded: words are the users' to choose
                self._typos.clear()
            self._typos[word] = self._typo_of(word)
        return self._typos[word]

    def _typo_of(self, word: str) -> str | None:
        if word in self.word_stems:
            return None
        if len(word) > 3 and word.endswith("s") and word[:-1] in self.word_stems:
            return word[:-1]  # an apostrophe left out: "whats", "whos"
        if len(word) < _TYPO_MIN_LETTERS:  # short words are too alike to tell typos from words
            return None
        close = difflib.get_close_matches(word, self.word_stems, n=1, cutoff=_TYPO_CUTOFF)
        return close[0] if close else None

    def _weight(self, stem: str) -> float:
        return self.weights.get(stem, self.unknown_weight)


# How alike (difflib's ratio) a word must be to an example's word to be taken for its typo.
_TYPO_CUTOFF = 0.85
_TYPO_MIN_LETTERS = 5
_TYPOS_KEPT = 10_000


def example_words() -> list[str]:
    return list(dict.fromkeys(w for i in INTENTS for e in i.examples for w in WORD.findall(e)))
