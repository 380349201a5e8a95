"""The keys that protect identity numbers at rest, and their rotation (DOM-15): versioned, chained blind
indexes and digests, encryption key ids, the key file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from gjeld_shared.identity_numbers import SubjectKeys, dump_subject_keys, load_subject_keys

PERSON = "14842249091"
OTHER = "29868099311"


def mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def test_a_blind_index_is_its_key_version_and_the_hmac() -> None:
    keys = SubjectKeys.generate()
    index = keys.blind_index(PERSON)
    assert len(index) == 33
    assert index == b"\x01" + mac(keys.index_keys[1], PERSON.encode())
    assert keys.rotated(index_key=True).blind_index(PERSON)[0] == 2


def test_a_rotated_index_chains_the_keys_and_rewraps_without_the_number() -> None:
    first = SubjectKeys.generate()
    second = first.rotated(index_key=True)
    third = second.rotated(index_key=True)
    k1, k2, k3 = (third.index_keys[v] for v in (1, 2, 3))
    assert second.blind_index(PERSON) == b"\x02" + mac(k2, mac(k1, PERSON.encode()))
    assert third.blind_index(PERSON) == b"\x03" + mac(k3, mac(k2, mac(k1, PERSON.encode())))
    # Each stored value, whatever its version, comes up to the current one.
    for older in (first, second, third):
        for number in (PERSON, OTHER):
            assert third.rewrap(older.blind_index(number)) == third.blind_index(number)
    assert third.blind_index(PERSON) != third.blind_index(OTHER)
    # After the rotation, the old key alone no longer gives the stored value.
    assert mac(k1, PERSON.encode()) not in third.blind_index(PERSON)


def test_an_index_of_an_unknown_version_is_refused() -> None:
    keys = SubjectKeys.generate().rotated(index_key=True)
    stored = keys.blind_index(PERSON)
    with pytest.raises(ValueError, match="no index key"):
        keys.rewrap(b"\x07" + stored[1:])
    with pytest.raises(ValueError, match="33 bytes"):
        keys.rewrap(stored[1:])  # an unversioned value, as before the 0003 migrations
    # A later version than the keys know (the chain cannot run backwards).
    with pytest.raises(ValueError, match="no index key"):
        SubjectKeys({1: keys.index_keys[1]}, 1, keys.encryption_keys, 1).rewrap(stored)


def test_the_current_index_key_is_the_newest() -> None:
    keys = SubjectKeys.generate().rotated(index_key=True)
    with pytest.raises(ValueError, match="newest"):
        SubjectKeys(keys.index_keys, 1, keys.encryption_keys, 1)


def test_digests_are_versioned_and_rewrap_as_indexes_do() -> None:
    keys = SubjectKeys.generate()
    rotated = keys.rotated(index_key=True)
    digest = keys.digest(b"request content")
    assert digest[0] == 1 and rotated.digest(b"request content")[0] == 2
    assert rotated.rewrap(digest) == rotated.digest(b"request content")
    parts = rotated.digester()
    parts.update(b"request ")
    parts.update(b"content")
    assert parts.digest() == rotated.digest(b"request content")
    assert keys.digest(PERSON.encode()) != keys.blind_index(PERSON)


def test_encryption_rotates_and_old_keys_may_go_once_reencrypted() -> None:
    old = SubjectKeys.generate()
    sealed = old.encrypt(PERSON)
    assert PERSON.encode() not in sealed and old.decrypt(sealed) == PERSON
    rotated = old.rotated(encryption_key=True)
    assert rotated.decrypt(sealed) == PERSON
    assert rotated.encrypt(PERSON)[0] == 2
    resealed = rotated.reencrypt(sealed)
    assert resealed[0] == 2 and rotated.reencrypt(resealed) == resealed
    without_old = SubjectKeys(rotated.index_keys, 1, {2: rotated.encryption_keys[2]}, 2)
    assert without_old.decrypt(resealed) == PERSON
    with pytest.raises(ValueError, match="no key"):
        without_old.decrypt(sealed)


def test_the_key_file_round_trips(tmp_path: Path) -> None:
    keys = SubjectKeys.generate().rotated(index_key=True, encryption_key=True)
    path = tmp_path / "subject-keys.json"
    path.write_text(dump_subject_keys(keys))
    assert set(json.loads(path.read_text())) == {
        "index_keys",
        "current_index_key_id",
        "encryption_keys",
        "current_key_id",
    }
    assert load_subject_keys(path) == keys


def test_a_key_file_from_before_versions_is_index_key_version_1(tmp_path: Path) -> None:
    index_key, encryption_key = b"i" * 32, b"e" * 32
    path = tmp_path / "subject-keys.json"
    path.write_text(
        json.dumps(
            {
                "index_key": base64.b64encode(index_key).decode(),
                "encryption_keys": {"1": base64.b64encode(encryption_key).decode()},
                "current_key_id": 1,
            }
        )
    )
    keys = load_subject_keys(path)
    assert keys.index_keys == {1: index_key} and keys.current_index_key_id == 1
    # What the 0003 migrations make of a value stored before: 0x01 in front of the same HMAC.
    assert keys.blind_index(PERSON) == b"\x01" + mac(index_key, PERSON.encode())
    assert keys.digest(b"content") == b"\x01" + mac(index_key, b"digest:content")
