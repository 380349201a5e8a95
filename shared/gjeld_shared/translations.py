"""Gettext catalogues read from their .po files with Babel, for the letters and the person's pages.

The English text is in the code and templates (the message ids); every other language is a catalogue
`<folder>/<language>/LC_MESSAGES/<domain>.po`, compiled in memory when first asked for (no .mo files to keep in step).
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency

SOURCE_LANGUAGE = "en"
# Placeholders a translation must keep: {name} in the letters (str.format), %(name)s in the pages (Jinja2 gettext).
PLACEHOLDERS = re.compile(r"{(\w+)}|%\((\w+)\)s")


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; it is translated where it is shown."""
    return message


def untranslated(messages: set[str], po_file: Path) -> list[str]:
    """What is wrong with a catalogue for these messages: each message without a translation, each translation that
    lost or gained a placeholder, and each translation of a message no longer used (empty when all is well)."""
    with po_file.open("rb") as po:
        translated = {m.id: m.string for m in read_po(po) if m.id}
    problems = [f"no translation of {m!r}" for m in sorted(messages) if not translated.get(m)]
    problems += [
        f"placeholders differ in {m!r}"
        for m in sorted(messages)
        if translated.get(m) and set(PLACEHOLDERS.findall(str(translated[m]))) != set(PLACEHOLDERS.findall(m))
    ]
    problems += [f"translation of {m!r}, no longer used" for m in sorted(set(translated) - messages)]
    return problems


@functools.cache
def catalogue(folder: Path, domain: str, language: str, locale: str) -> gettext.NullTranslations:
    """The catalogue of `language` (Babel `locale`, e.g. nb_NO); the source language is the message ids."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    with (folder / language / "LC_MESSAGES" / f"{domain}.po").open("rb") as po:
        messages = read_po(po, locale=locale)
    compiled = io.BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


# Norwegian bokmål, and English as written in Norway (320 000,00 kr; Norwegian time).
LOCALES = {"nb": "nb_NO", "en": "en_NO"}
NORWAY = ZoneInfo("Europe/Oslo")
MOMENTS = {"nb": "dd.MM.yyyy 'kl.' HH:mm", "en": "dd.MM.yyyy 'at' HH:mm '(Norwegian time)'"}


def kroner(minor_units: int, language: str) -> str:
    """An amount in øre, as kroner are written in Norway."""
    return format_currency(Decimal(minor_units).scaleb(-2), "NOK", locale=LOCALES[language])


def through(text: str) -> datetime | None:
    """When something chosen to last through a day (YYYY-MM-DD, as a date field writes it) ends: the next midnight in
    Norway; None when `text` is not a date."""
    try:
        chosen = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return datetime.combine(chosen + timedelta(days=1), time(0), tzinfo=NORWAY)


def moment(when: datetime, language: str) -> str:
    """A time as a person in Norway reads it."""
    return format_datetime(when, MOMENTS[language], tzinfo=NORWAY, locale=LOCALES[language])


def rate(basis_points: int, language: str) -> str:
    """An interest rate in basis points as a percentage with two decimals (8,20 in Norwegian, 8.20 in English)."""
    text = f"{basis_points / 100:.2f}"
    return text.replace(".", ",") if language == "nb" else text
