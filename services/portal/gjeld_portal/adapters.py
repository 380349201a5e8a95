"""The portal's own tables (schema `portal`, role `gjeld_portal`): the browsers' sessions, and nothing of the register.

A row holds in plain only what the database must see to find, expire and cap sessions: the SHA-256 of the cookie's
random id (someone who reads the table cannot present it as a cookie), when the session began and was last used,
and whether a person is logged in. Everything else is sealed (AES-GCM with a key id, `SubjectKeys.seal`), bound to
the row's id hash and the column's name: the person's identity number, their tokens, and the rest of the session
(CSRF token, language, the one-shot notice, the OpenID Connect login start with its PKCE verifier and nonce).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, LargeBinary, MetaData, Table

SCHEMA = "portal"
metadata = MetaData(schema=SCHEMA)

sessions = Table(
    "sessions",
    metadata,
    Column("id_hash", LargeBinary, primary_key=True),
    Column("began", DateTime(timezone=True), nullable=False),
    Column("seen", DateTime(timezone=True), nullable=False),
    Column("logged_in", Boolean, nullable=False),
    # The person's identity number; their refresh token and access tokens (written at login and under the row's
    # lock when renewed, never by anything else, so that a page saving its state cannot bring back a spent token);
    # the session's own state.
    Column("person_sealed", LargeBinary),
    Column("tokens_sealed", LargeBinary),
    Column("state_sealed", LargeBinary, nullable=False),
    # Expiry and the caps (the oldest of each kind go first) read these.
    Index("sessions_by_kind_and_use", "logged_in", "seen"),
    Index("sessions_by_start", "began"),
)
