"""The answer type of a HotPotQA question (person, place, date or other), by a fixed rule.

HotPotQA Conditional's format rules depend on the answer type, which the paper's question files
label by hand. The local HotPotQA questions have no such label, so ``answer_type`` assigns one:

1. **date** if the gold answer names a month together with a number ("8 June 1951", "October 1922").
   A bare year ("1984") is *other*, as in the paper's labels, which give years their own category.
2. **other** if the answer is "yes" or "no".
3. Otherwise by the question word: the wh-word that opens the question (after any prepositions,
   "In which ..."), else the last wh-word in it ("... was directed by whom?").
   - "who", "whom", "whose": **person**; "where": **place**;
   - "which"/"what": the first of the next few words (after "is the name of") that is a person noun
     ("actor", "singer", "director", ...) gives **person**, a place noun ("city", "country",
     "state", ...) gives **place**; a verb or preposition ends the search;
   - anything else: **other**.
"""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal["person", "place", "date", "other"]

_MONTH = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_WH_WORDS = frozenset({"who", "whom", "whose", "where", "which", "what", "when", "how"})
_LEADING = frozenset({"in", "at", "on", "from", "by", "for", "to", "during", "of", "with", "into"})
_FILLER = frozenset({"is", "was", "are", "were", "the", "a", "an", "name", "of"})
_STOP = frozenset({
    "is", "was", "are", "were", "did", "does", "do", "has", "had", "have", "will", "would", "can",
    "could", "in", "of", "on", "at", "by", "for", "from", "to", "with", "that", "who", "which",
    "and", "or",
})
PERSON_NOUNS = frozenset("""
    person people man men woman women boy girl actor actress singer songwriter singer-songwriter
    musician rapper player author writer novelist poet director producer composer politician artist
    painter sculptor architect president king queen prince princess emperor leader founder ceo
    chairman footballer cricketer coach manager guitarist drummer bassist vocalist comedian host
    presenter journalist scientist physicist chemist philosopher economist businessman businesswoman
    entrepreneur screenwriter filmmaker dancer model designer inventor engineer explorer athlete
    boxer wrestler lyricist illustrator cartoonist brother sister son daughter father mother wife
    husband pianist violinist conductor jockey quarterback pitcher golfer swimmer skater cyclist
    driver senator governor mayor minister monarch bishop pope umpire nobleman noblewoman winger
    striker defender goalkeeper employee scholar professor figure performer animator champion
    secretary analyst grandmother grandfather grandson granddaughter uncle aunt teacher student
    lawyer judge doctor physician surgeon priest mathematician historian biologist astronomer
    photographer editor publisher critic commentator broadcaster reporter chef lord duke duchess earl
    baron knight sultan tsar pharaoh rabbi candidate nominee winner recipient general admiral officer
    soldier astronaut heir star celebrity individual
""".split())
PLACE_NOUNS = frozenset("""
    place city town village country state county region province location area island continent
    suburb neighborhood neighbourhood district capital borough municipality territory nation
""".split())


def answer_type(question: str, answer: str) -> AnswerType:
    """The answer type of ``question`` with gold ``answer``, by the rule in this module's doc."""
    if _MONTH.search(answer) and re.search(r"\d", answer):
        return "date"
    if answer.strip().lower() in ("yes", "no"):
        return "other"
    words = _WORD.findall(question)
    position = _question_word(words)
    if position is None:
        return "other"
    word = words[position].lower()
    if word in ("who", "whom", "whose"):
        return "person"
    if word == "where":
        return "place"
    if word in ("which", "what"):
        return _type_of_head(words[position + 1:])
    return "other"


def _question_word(words: list[str]) -> int | None:
    start = 0
    while start < len(words) and words[start].lower() in _LEADING:
        start += 1
    if start < len(words) and words[start].lower() in _WH_WORDS:
        return start
    positions = [i for i, word in enumerate(words) if word.lower() in _WH_WORDS]
    return positions[-1] if positions else None


def _type_of_head(words: list[str]) -> AnswerType:
    start = 0
    while start < len(words) and words[start].lower() in _FILLER:
        start += 1
    for word in words[start:start + 5]:
        noun = _singular(word.lower())
        if noun in PERSON_NOUNS:
            return "person"
        if noun in PLACE_NOUNS:
            return "place"
        if word.lower() in _STOP:
            break
    return "other"


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word
