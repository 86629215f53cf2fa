"""Word lists the prompt generators compose from.

Benign users, hard negatives and attack task generators all draw on these same
lists on purpose: vocabulary alone must not separate attackers from users.

The lists themselves are package data (``streams/simulation/data/words.json``).
"""

from __future__ import annotations

from streams.simulation.data import load

_WORDS = load("words.json")

FIRST_NAMES = _WORDS["FIRST_NAMES"]
LAST_NAMES = _WORDS["LAST_NAMES"]
COMPANY_NAMES = _WORDS["COMPANY_NAMES"]
CITIES = _WORDS["CITIES"]
INGREDIENTS = _WORDS["INGREDIENTS"]
DIETS = _WORDS["DIETS"]
HOBBIES = _WORDS["HOBBIES"]
RELATIONS = _WORDS["RELATIONS"]
ROLES = _WORDS["ROLES"]
PROJECTS = _WORDS["PROJECTS"]
CONCEPTS = _WORDS["CONCEPTS"]
COMPARE_PAIRS = _WORDS["COMPARE_PAIRS"]
WHY_QUESTIONS = _WORDS["WHY_QUESTIONS"]
WRITING_THEMES = _WORDS["WRITING_THEMES"]
POEM_FORMS = _WORDS["POEM_FORMS"]
TONES = _WORDS["TONES"]
EMAIL_PURPOSES = _WORDS["EMAIL_PURPOSES"]
EMAIL_RECIPIENTS = _WORDS["EMAIL_RECIPIENTS"]
PRODUCTS = _WORDS["PRODUCTS"]
HOUSEHOLD_TASKS = _WORDS["HOUSEHOLD_TASKS"]
ADVICE_SITUATIONS = _WORDS["ADVICE_SITUATIONS"]
BUSINESS_TASKS = _WORDS["BUSINESS_TASKS"]
WORK_RELATIONS = _WORDS["WORK_RELATIONS"]
LANGUAGES_HUMAN = _WORDS["LANGUAGES_HUMAN"]
ENGLISH_SENTENCES = _WORDS["ENGLISH_SENTENCES"]
DATA_ITEMS = _WORDS["DATA_ITEMS"]
VERSIONS = _WORDS["VERSIONS"]


def with_article(noun: str) -> str:
    """``noun`` with "a" or "an" in front, as spoken ("an ML engineer", "a UX researcher")."""
    spoken_vowel = (noun[:1].lower() in "aeiou" and not noun.startswith("UX")) or noun.startswith(
        ("ML", "HR", "SQL")
    )
    return ("an " if spoken_vowel else "a ") + noun
