"""The institution directory: which institutions take part, as the operator configures them.

For each institution: the details copy letters need (name, address, phone); the
purposes it may look up debt for (only financial institutions take part, and which
legal basis each may use is the operator's decision, not a code constant); and, for
institutions that implement `gjeld.creditor.v1`, where to call them for live answers
at lookup time and whether ingest fetches their daily snapshot from them. The
operator controls it as a JSON file (a ConfigMap in Kubernetes); in development
`gjeld_tools/institutions.dev.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gjeld.type.v1 import identity_pb2

# The purposes an institution may be allowed, as the directory names them (lookup's purposes).
PURPOSES = frozenset({"credit_assessment", "presentation", "credit_bureau"})


@dataclass(frozen=True)
class Institution:
    organization_number: str
    name: str
    postal_address: tuple[str, ...] = ()
    phone: str = ""
    purposes: frozenset[str] = frozenset()
    # host:port of the institution's gjeld.creditor.v1 service; empty when it does not implement it.
    creditor_endpoint: str = ""
    # Whether ingest fetches the institution's daily snapshot from its creditor endpoint.
    fetch_snapshot: bool = False
    # The CA (bundle) its endpoint's server certificate must chain to, pinned for this institution alone; empty:
    # the operator's default (GJELD_CREDITOR_CA_FILE). A relative path is read from the directory file's folder.
    creditor_ca_file: Path | None = None
    # A credit bureau's score-model agreements (DOM-11): the institutions whose loan customers its extracts are about.
    score_model_partners: tuple[str, ...] = ()


class InstitutionDirectory:
    def __init__(self, institutions: list[Institution]) -> None:
        self._by_number = {i.organization_number: i for i in institutions}
        # Asked on every lookup: worked out once, as the directory does not change while a service runs.
        self._live = sorted((i for i in institutions if i.creditor_endpoint), key=lambda i: i.organization_number)

    @classmethod
    def load(cls, path: Path) -> InstitutionDirectory:
        entries = json.loads(path.read_text(encoding="utf-8"))["institutions"]
        institutions = []
        for e in entries:
            purposes = frozenset(e.get("purposes", ()))
            if purposes - PURPOSES:
                raise ValueError(
                    f"{path}: unknown purposes {sorted(purposes - PURPOSES)} for {e['organization_number']}"
                )
            institutions.append(
                Institution(
                    e["organization_number"],
                    e["name"],
                    tuple(e.get("postal_address", ())),
                    e.get("phone", ""),
                    purposes,
                    e.get("creditor_endpoint", ""),
                    bool(e.get("fetch_snapshot", False)),
                    path.parent / e["creditor_ca_file"] if e.get("creditor_ca_file") else None,
                    tuple(e.get("score_model_partners", ())),
                )
            )
        return cls(institutions)

    def get(self, organization_number: str) -> Institution:
        """The institution, or one known only by its number (and allowed nothing) when the directory lacks it."""
        return self._by_number.get(organization_number) or Institution(
            organization_number, f"Organisation {organization_number}"
        )

    def admits(self, organization_number: str) -> bool:
        """Whether the operator has admitted the institution: only those in the directory report, look up or register
        consents."""
        return organization_number in self._by_number

    def live_creditors(self) -> list[Institution]:
        """The institutions that answer live lookups (implement gjeld.creditor.v1), by organisation number."""
        return list(self._live)

    def extract_creditors(self, organization_number: str) -> list[str]:
        """Whose loan customers an institution's score-model extract is about (§5): a bureau's partners, or the
        institution's own."""
        return list(self.get(organization_number).score_model_partners) or [organization_number]

    def called_for_snapshots(self) -> list[Institution]:
        """The institutions whose daily snapshot ingest fetches from their creditor endpoint."""
        return [i for i in self.live_creditors() if i.fetch_snapshot]


def institution_to_proto(institution: Institution) -> identity_pb2.Institution:
    return identity_pb2.Institution(
        organization_number=identity_pb2.OrganizationNumber(value=institution.organization_number),
        name=institution.name,
        postal_address=list(institution.postal_address),
        phone=institution.phone,
    )
