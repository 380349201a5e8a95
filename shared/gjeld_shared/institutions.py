"""The institution directory: which institutions the registry knows, with the details
copy letters need (name, address, phone). The operator controls it as a JSON file
(a ConfigMap in Kubernetes); in development `gjeld_tools/institutions.dev.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gjeld.type.v1 import identity_pb2


@dataclass(frozen=True)
class Institution:
    organization_number: str
    name: str
    postal_address: tuple[str, ...] = ()
    phone: str = ""


class InstitutionDirectory:
    def __init__(self, institutions: list[Institution]) -> None:
        self._by_number = {i.organization_number: i for i in institutions}

    @classmethod
    def load(cls, path: Path) -> InstitutionDirectory:
        entries = json.loads(path.read_text(encoding="utf-8"))["institutions"]
        return cls(
            [
                Institution(e["organization_number"], e["name"], tuple(e.get("postal_address", ())), e.get("phone", ""))
                for e in entries
            ]
        )

    def get(self, organization_number: str) -> Institution:
        """The institution, or one known only by its number when the directory lacks it."""
        return self._by_number.get(organization_number) or Institution(
            organization_number, f"Organisation {organization_number}"
        )


def institution_to_proto(institution: Institution) -> identity_pb2.Institution:
    return identity_pb2.Institution(
        organization_number=identity_pb2.OrganizationNumber(value=institution.organization_number),
        name=institution.name,
        postal_address=list(institution.postal_address),
        phone=institution.phone,
    )
