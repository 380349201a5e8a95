"""The letters' catalogues: every message the code marks has a translation in every language, with the same
placeholders, and what lookup says of its purposes and source is among them."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from gjeld_lookup.domain import PURPOSE_WORDS, SOURCE
from gjeld_notify import letters

PLACEHOLDER = re.compile(r"{(\w+)}")


def marked() -> set[str]:
    found = extract_from_file("python", Path(letters.__file__), keywords={"_": None, "N_": None})
    return {message for _line, message, _comments, _context in found}


def test_every_message_has_a_translation_with_the_same_placeholders() -> None:
    # Breaking it (a new message in letters.py left out of the catalogue, or a placeholder lost) fails here.
    messages = marked()
    assert len(messages) > 30
    for language in letters.LANGUAGES:
        if language == "en":
            continue
        path = letters.CATALOGUES / language / "LC_MESSAGES" / f"{letters.DOMAIN}.po"
        with path.open("rb") as po:
            catalogue = {m.id: m.string for m in read_po(po) if m.id}
        missing = sorted(m for m in messages if not catalogue.get(m))
        assert not missing, f"{language}: no translation of {missing}"
        for message in messages:
            assert set(PLACEHOLDER.findall(catalogue[message])) == set(PLACEHOLDER.findall(message)), message
        assert not set(catalogue) - messages, f"{language}: translations of messages no longer used"


def test_what_lookup_says_of_its_purposes_is_translated() -> None:
    assert {*PURPOSE_WORDS.values(), SOURCE} <= marked()
