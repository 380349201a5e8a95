"""The letters' catalogues: every message the code marks has a translation in every language, with the same
placeholders, and what lookup says of its purposes and source is among them."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file
from gjeld_lookup.domain import PURPOSE_WORDS, SOURCE
from gjeld_notify import letters
from gjeld_shared.translations import untranslated


def marked() -> set[str]:
    found = extract_from_file("python", Path(letters.__file__), keywords={"_": None, "N_": None})
    return {message for _line, message, _comments, _context in found}


def test_every_message_has_a_translation_with_the_same_placeholders() -> None:
    # Breaking it (a new message in letters.py left out of the catalogue, or a placeholder lost) fails here.
    messages = marked()
    assert len(messages) > 30
    for language in letters.LANGUAGES:
        if language != "en":
            po = letters.CATALOGUES / language / "LC_MESSAGES" / f"{letters.DOMAIN}.po"
            assert untranslated(messages, po) == [], language


def test_what_lookup_says_of_its_purposes_is_translated() -> None:
    assert {*PURPOSE_WORDS.values(), SOURCE} <= marked()
