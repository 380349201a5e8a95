"""Identity numbers (DOM-4, DOM-15): validation without I/O, and how they are kept."""

from __future__ import annotations

from datetime import date

import pytest
from gjeld_shared import identity_numbers
from gjeld_shared.identity_numbers import InvalidIdentityNumber, SubjectKeys, validate


def with_check_digits(birth: str, first_remainder: int = 0) -> str:
    """A number for a DDMMYY birth date (individual number 100-499, so 1900s) with valid check digits;
    a `first_remainder` of 1-3 makes a number of the kind issued from 2032."""
    w1, w2 = (3, 7, 6, 1, 8, 9, 4, 5, 2), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    for individual in range(100, 500):
        digits = [int(c) for c in f"{birth}{individual}"]
        k1 = (first_remainder - sum(a * b for a, b in zip(w1, digits, strict=True))) % 11
        k2 = (-sum(a * b for a, b in zip(w2, [*digits, k1], strict=True))) % 11
        if k1 < 10 and k2 < 10:
            return f"{birth}{individual}{k1}{k2}"
    raise ValueError("no such number")


@pytest.mark.parametrize("number", ["14842249091", "29868099311"])
def test_the_documented_synthetic_numbers_are_valid(number: str) -> None:
    assert validate(number) == number and identity_numbers.is_synthetic(number)


def test_d_numbers_are_valid() -> None:
    ordinary = with_check_digits("010190")  # 1 January 1990
    d_number = with_check_digits("410190")  # day + 40
    assert validate(ordinary) == ordinary and validate(d_number) == d_number


@pytest.mark.parametrize(
    "number, problem",
    [
        ("1484224909", "exactly 11 digits"),
        ("1484224909a", "exactly 11 digits"),
        ("14842249092", "check digit"),
        ("14842249081", "check digit"),
    ],
)
def test_invalid_numbers_are_refused_without_saying_the_number(number: str, problem: str) -> None:
    with pytest.raises(InvalidIdentityNumber) as refused:
        validate(number)
    assert problem in str(refused.value)
    assert number not in str(refused.value)


def test_impossible_birth_dates_are_refused() -> None:
    with pytest.raises(InvalidIdentityNumber, match="date of birth"):
        validate(with_check_digits("310290"))  # 31 February


def test_the_2032_first_check_digit_is_accepted_from_2032_only() -> None:
    for remainder in (1, 2, 3):
        number = with_check_digits("010190", first_remainder=remainder)
        assert validate(number, today=date(2032, 1, 1)) == number
        with pytest.raises(InvalidIdentityNumber, match="first check digit"):
            validate(number, today=date(2031, 12, 31))


def test_blind_index_is_keyed_and_stable() -> None:
    keys, other = SubjectKeys.generate(), SubjectKeys.generate()
    assert keys.blind_index("14842249091") == keys.blind_index("14842249091")
    assert keys.blind_index("14842249091") != other.blind_index("14842249091")
    assert keys.blind_index("14842249091") != keys.blind_index("29868099311")


def test_synthetic_numbers_are_valid_and_reproduce_the_documented_ones() -> None:
    assert identity_numbers.synthetic(date(1922, 4, 14), 490) == "14842249091"
    made = [identity_numbers.synthetic(date(1980 + n % 20, 1 + n % 12, 1 + n % 28), n % 500) for n in range(600)]
    valid = [m for m in made if m is not None]
    assert len(valid) > 400
    assert all(validate(m) == m and identity_numbers.is_synthetic(m) for m in valid)
