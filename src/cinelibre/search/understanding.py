"""What a search query asks for, told from the query's words and from how closely the whole query
matches a catalogue title or person: a title look-up, a person look-up, a description, or
"films like X". Pure functions, so each rule is tested on its own; the numbers are chosen in
docs/search.md (how the ranking was tuned)."""

import re
from dataclasses import dataclass
from enum import StrEnum

from cinelibre.types import ItemType


class QueryKind(StrEnum):
    TITLE = "title"
    PERSON = "person"
    DESCRIPTIVE = "descriptive"


# The share of the query's letter trigrams found in one title (or one person's name) from which
# the query is taken for a look-up of that title (or person). A misspelling ("Interstelar",
# "Satyajit Rai") keeps most of its trigrams; a description that shares a word with a title
# ("astronauts looking for a new home" and Home Alone) keeps few. A transposed name keeps only
# half ("Tolkein": 0.5), hence the lower bar for people.
TITLE_MATCH = 0.6
PERSON_MATCH = 0.5


@dataclass(frozen=True)
class FusionWeights:
    """How much each retriever's ranks count in the fused ranking (weighted Reciprocal Rank Fusion)."""

    meaning: float
    words: float
    names: float


# A description is answered by meaning: full-text matches only reorder what meaning also found,
# and a title sharing a word with the query is no reason to rank it. A look-up puts the titles or
# people it names first, then what is close in meaning.
WEIGHTS = {
    QueryKind.DESCRIPTIVE: FusionWeights(meaning=1.0, words=0.3, names=0.0),
    QueryKind.TITLE: FusionWeights(meaning=1.0, words=0.5, names=3.0),
    QueryKind.PERSON: FusionWeights(meaning=1.0, words=0.5, names=3.0),
}

# For a description, an item whose text had no overview (a film known only by its title, year and
# genres) ranks by its similarity less this much: its vector follows its title words, and a title
# sharing a word with the description ("Stray Dog" for a lonely man and a stray dog) is no answer
# to it. Chosen in docs/search.md.
UNDESCRIBED_PENALTY = 0.1


def classify(*, title_match: float, person_match: float) -> QueryKind:
    """The kind of a query from its closest title and person matches (0 when there is none).
    A query matching both a title and a name equally well is taken as a title."""
    if title_match >= TITLE_MATCH and title_match >= person_match:
        return QueryKind.TITLE
    if person_match >= PERSON_MATCH:
        return QueryKind.PERSON
    return QueryKind.DESCRIPTIVE


@dataclass(frozen=True)
class LikeRequest:
    """ "films like Drishyam": the item the query names, and the type it asks for (None: any)."""

    reference: str
    item_type: ItemType | None


_ASKED_TYPES = {
    "movie": ItemType.MOVIE,
    "movies": ItemType.MOVIE,
    "film": ItemType.MOVIE,
    "films": ItemType.MOVIE,
    "book": ItemType.BOOK,
    "books": ItemType.BOOK,
    "novel": ItemType.BOOK,
    "novels": ItemType.BOOK,
    "anime": ItemType.MOVIE,
}
# "like" alone at the start is not enough: titles begin with it ("Like Stars on Earth").
_LIKE = re.compile(
    r"^(?:(?P<asked>movies?|films?|books?|novels?|anime|something|anything|more|others?)\s+(?:like|similar\s+to)"
    r"|similar\s+to)\s+(?P<reference>\S.*)$",
    re.IGNORECASE,
)


def like_request(query: str) -> LikeRequest | None:
    """The reference of a "movies like X" / "books like X" / "films similar to X" / "something
    like X" / "similar to X" query; None for any other query."""
    matched = _LIKE.match(" ".join(query.split()))
    if matched is None:
        return None
    asked = (matched["asked"] or "").lower()
    return LikeRequest(reference=matched["reference"], item_type=_ASKED_TYPES.get(asked))


def knows_words(lexemes: list[tuple[str, int]]) -> bool:
    """Whether any of the query's full-text words (with the number of items holding each) is in the
    catalogue. A query without one ("zzzzqqq", "qwerty uiop", or a word in a script the catalogue
    does not use) has only its embedding to go by, and this model finds something faintly similar
    to anything: such a query needs a close match in meaning to be answered at all."""
    return any(documents > 0 for _, documents in lexemes)


def no_results_hint(query: str) -> str:
    return f"Nothing close enough to '{' '.join(query.split())}'; try other words."


# Everyday words of Indian languages as people type them in Latin script, with their English
# meaning. The catalogue's texts and the embedding model are English: without a gloss "bhoot" or
# "prem kahani" match nothing, or a title that happens to contain the word. A general vocabulary
# of film themes, written once (not grown from the measured queries); spelling variants that
# people commonly use are listed separately.
GLOSSARY = {
    # Hindi and Urdu
    "pyaar": "love",
    "pyar": "love",
    "prem": "love",
    "ishq": "love",
    "mohabbat": "love",
    "dil": "heart",
    "kahani": "story",
    "dosti": "friendship",
    "dost": "friend",
    "yaar": "friend",
    "shaadi": "wedding",
    "vivah": "wedding",
    "bhoot": "ghost",
    "bhootiya": "haunted",
    "chudail": "witch",
    "rakshas": "demon",
    "maa": "mother",
    "baap": "father",
    "pita": "father",
    "beta": "son",
    "beti": "daughter",
    "bhai": "brother",
    "behen": "sister",
    "parivaar": "family",
    "parivar": "family",
    "bachpan": "childhood",
    "ghar": "home",
    "gaon": "village",
    "shahar": "city",
    "jung": "war",
    "yudh": "war",
    "sipahi": "soldier",
    "fauj": "army",
    "watan": "homeland",
    "azaadi": "freedom",
    "azadi": "freedom",
    "inquilab": "revolution",
    "chor": "thief",
    "daku": "bandit",
    "badla": "revenge",
    "safar": "journey",
    "sapna": "dream",
    "khel": "sport",
    "kisan": "farmer",
    "kisaan": "farmer",
    "gareeb": "poor",
    "raja": "king",
    "rani": "queen",
    "jaadu": "magic",
    "jadoo": "magic",
    "darr": "fear",
    "khoon": "murder",
    "qatil": "killer",
    "katil": "killer",
    "jasoos": "detective",
    "zindagi": "life",
    "maut": "death",
    "insaaf": "justice",
    "kanoon": "law",
    "sangeet": "music",
    "gaana": "song",
    "naach": "dance",
    "dushman": "enemy",
    "baarish": "rain",
    "samundar": "sea",
    # Tamil
    "kadhal": "love",
    "kaadhal": "love",
    "nanban": "friend",
    "veedu": "home",
    "kalyanam": "wedding",
    "pei": "ghost",
    "kolai": "murder",
    "thirudan": "thief",
    "vazhkai": "life",
    "kanavu": "dream",
    # Telugu and Malayalam
    "prema": "love",
    "pranayam": "love",
    "sneham": "friendship",
    "pelli": "wedding",
    "dayyam": "ghost",
    "yakshi": "spirit",
    "yuddham": "war",
    # Bengali, Marathi and Punjabi
    "bhalobasha": "love",
    "bondhu": "friend",
    "bhut": "ghost",
    "biye": "wedding",
    "mitra": "friend",
    "pind": "village",
}


def glossed(query: str) -> str:
    """The query with the English meaning of its Indian-language words after it ("prem kahani"
    becomes "prem kahani (love story)"), for the meaning and word retrievers; the query itself
    when it has none. Title and name look-ups keep the query as typed."""
    meanings = [GLOSSARY[word] for word in re.findall(r"[a-z]+", query.lower()) if word in GLOSSARY]
    return f"{query} ({' '.join(meanings)})" if meanings else query
