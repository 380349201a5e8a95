"""Min gjeld's catalogue: every message the templates and views mark has a Norwegian translation with the same
placeholders, and none is left over."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file
from gjeld_portal import bootstrap, views
from gjeld_portal.sessions import LANGUAGES
from gjeld_shared.translations import untranslated


def marked() -> set[str]:
    found = [
        message
        for template in sorted((bootstrap.HERE / "templates").glob("*.html"))
        for _line, message, _comments, _context in extract_from_file(
            "jinja2", template, keywords={"_": None, "gettext": None}, options={"extensions": "jinja2.ext.i18n"}
        )
    ]
    found += [m for _l, m, _c, _x in extract_from_file("python", Path(views.__file__), keywords={"N_": None})]
    return set(found)


def test_every_message_has_a_translation_with_the_same_placeholders() -> None:
    # Breaking it (a new message in a template left out of the catalogue, or a placeholder lost) fails here.
    messages = marked()
    assert len(messages) > 100
    for language in LANGUAGES:
        if language != "en":
            po = bootstrap.CATALOGUES / language / "LC_MESSAGES" / f"{bootstrap.DOMAIN}.po"
            assert untranslated(messages, po) == [], language


def test_pages_are_in_norwegian_unless_english_is_chosen() -> None:
    render = bootstrap.page_renderer()
    norwegian = render("nb", "landing.html", session=None, notice="", current="/", institution_name=str)
    english = render("en", "landing.html", session=None, notice="", current="/", institution_name=str)
    assert '<html lang="nb">' in norwegian and "Logg inn med ID-porten" in norwegian
    assert '<html lang="en">' in english and "Log in with ID-porten" in english
