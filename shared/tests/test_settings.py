"""The database password comes from a mounted file (a Kubernetes secret), never from the URL in the environment."""

from __future__ import annotations

from pathlib import Path

from gjeld_shared.settings import ServiceSettings
from sqlalchemy.engine import make_url


def settings(tmp_path: Path, **values: object) -> ServiceSettings:
    return ServiceSettings(
        database_url="postgresql+asyncpg://gjeld_consent@gjeld-postgres-rw:5432/consent?ssl=verify-full",
        tls_certificate_file=tmp_path / "tls.crt",
        tls_key_file=tmp_path / "tls.key",
        workload_ca_file=tmp_path / "ca.crt",
        token_audience="https://gjeld.no/consent",
        subject_keys_file=tmp_path / "keys.json",
        institutions_file=tmp_path / "institutions.json",
        **values,  # type: ignore[arg-type]
    )


def test_the_password_file_goes_into_the_url_the_engine_gets(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("5f2b9c0e1a7d\n")  # as a secret's file: a trailing newline is not part of it
    url = make_url(settings(tmp_path, database_password_file=secret).database())
    assert url.password == "5f2b9c0e1a7d"
    assert (url.username, url.host, url.database, url.query) == (
        "gjeld_consent",
        "gjeld-postgres-rw",
        "consent",
        {"ssl": "verify-full"},
    )
    assert "5f2b9c0e1a7d" not in repr(url)  # printed, the URL hides it


def test_without_a_password_file_the_url_is_as_given(tmp_path: Path) -> None:
    given = settings(tmp_path)
    assert given.database() == given.database_url
