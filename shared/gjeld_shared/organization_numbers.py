"""Organisation numbers of institutions.

Norwegian organisation numbers are 9 digits with a mod-11 check digit, but the
registry accepts any 9 digits: the Norwegian delivery format's own documented
example (`999888777`) fails the check digit, and banks test with such numbers.
Which organisation numbers are real institutions is the operator's institution
directory's business, not this format check's.
"""

from __future__ import annotations


class InvalidOrganizationNumber(ValueError):
    """The value is not an organisation number."""


def validate(value: str) -> str:
    """Return the number if it is 9 digits, else raise InvalidOrganizationNumber."""
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        raise InvalidOrganizationNumber("must be exactly 9 digits")
    return value
