"""The disclosure log's tamper evidence (DOM-15): an append-only Merkle log in the style of certificate transparency
(RFC 9162 §2.1, the hashes of RFC 6962), with signed checkpoints kept outside the database.

Every disclosure appends a leaf: the canonical bytes of an entry that holds no personal data (the disclosure's
random id, its recipient, its purpose and its time; never the person), so that retention may delete the disclosure
records while the log, and every proof, still holds. The log's state is a checkpoint: the tree's size and root hash,
signed with the registry's Ed25519 key and appended to a file outside the database. `verify` recomputes every leaf
from its entry and the tree from the leaves, and checks each checkpoint's root against the leaves it covered: an entry
updated, deleted, reordered, forged in, a tail truncated, or the whole log rewritten with recomputed hashes cannot
match a checkpoint signed before it (the key is not in the database). A person gets an inclusion proof of their
disclosure against a published checkpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def entry_of(kind: str, record_id: str, recipient: str, purpose: str, when: datetime, digest: str = "") -> bytes:
    """A log entry's canonical bytes: what happened, to whom, why, when (and, for a package, the digest of what was
    delivered); nothing that names the person."""
    fields = {"kind": kind, "id": record_id, "recipient": recipient, "purpose": purpose, "time": when.isoformat()}
    if digest:
        fields["sha256"] = digest
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def _split(n: int) -> int:
    """The largest power of two smaller than n (RFC 6962's k)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of these leaf hashes (RFC 6962 §2.1), bottom-up in one pass over the levels."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    level = list(leaves)
    # Pairing left to right, an odd node carried up, gives the same tree as RFC 6962's recursive split.
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_path(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `leaves` (RFC 6962 §2.1.1)."""
    if len(leaves) <= 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_path(leaves[:k], index), root(leaves[k:])]
    return [*inclusion_path(leaves[k:], index - k), root(leaves[:k])]


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement of the log's state: its size and root hash, at a time, by a key."""

    size: int
    root: bytes
    time: str
    key_id: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        return f"gjeld-disclosure-log\n{self.size}\n{base64.b64encode(self.root).decode()}\n{self.time}\n".encode()

    def to_json(self) -> str:
        return json.dumps(
            {
                "size": self.size,
                "root": base64.b64encode(self.root).decode(),
                "time": self.time,
                "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode(),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, line: str) -> Checkpoint:
        data = json.loads(line)
        return cls(
            int(data["size"]),
            base64.b64decode(data["root"]),
            str(data["time"]),
            str(data["key_id"]),
            base64.b64decode(data["signature"]),
        )


def sign(key: ed25519.Ed25519PrivateKey, key_id: str, size: int, tree_root: bytes, when: datetime) -> Checkpoint:
    unsigned = Checkpoint(size, tree_root, when.isoformat(), key_id, b"")
    return Checkpoint(size, tree_root, unsigned.time, key_id, key.sign(unsigned.signed_bytes()))


def signed_by(checkpoint: Checkpoint, public_key: ed25519.Ed25519PublicKey) -> bool:
    try:
        public_key.verify(checkpoint.signature, checkpoint.signed_bytes())
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True)
class Leaf:
    position: int
    entry: bytes
    hash: bytes


def verify(
    leaves: Sequence[Leaf], checkpoints: Sequence[Checkpoint], public_key: ed25519.Ed25519PublicKey
) -> list[str]:
    """Every way the log fails its checkpoints, in words (empty: the log is what was signed)."""
    problems: list[str] = []
    if not checkpoints:
        problems.append("there is no signed checkpoint: nothing can be verified")
    positions = [leaf.position for leaf in leaves]
    if positions != list(range(len(leaves))):
        problems.append("the positions are not 0, 1, 2 … without gaps or repeats: an entry was deleted or moved")
    for leaf in leaves:
        if leaf_hash(leaf.entry) != leaf.hash:
            problems.append(f"the entry at {leaf.position} does not match its leaf hash: it was changed")
    hashes = [leaf_hash(leaf.entry) for leaf in leaves]  # from the entries themselves, not the stored hashes
    for checkpoint in checkpoints:
        if not signed_by(checkpoint, public_key):
            problems.append(f"the checkpoint of size {checkpoint.size} is not signed by the registry's key")
        elif checkpoint.size > len(hashes):
            problems.append(f"the log holds {len(hashes)} entries, fewer than the {checkpoint.size} signed: truncated")
        elif root(hashes[: checkpoint.size]) != checkpoint.root:
            problems.append(
                f"the first {checkpoint.size} entries do not give the signed root: changed, deleted, reordered "
                "or inserted"
            )
    return problems
