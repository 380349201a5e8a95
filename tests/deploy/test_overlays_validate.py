"""Every overlay builds with kubectl kustomize, and its core objects pass kubernetes-validate --strict.

The operators' custom resources have no schema in kubernetes-validate and are skipped: cert-manager's Issuer and
Certificate, CloudNativePG's Cluster and Database (the other tests check the fields the code depends on). Nothing
else may be skipped: an object of any other unknown kind or apiVersion fails.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from .conftest import OVERLAYS, Build

# The cluster version the manifests are written for (native gRPC probes need 1.24, the preStop sleep action 1.30).
KUBERNETES = "1.32.0"
SKIPPED = {
    ("cert-manager.io/v1", "Issuer"),
    ("cert-manager.io/v1", "Certificate"),
    ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Database"),
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_objects_pass_strict_validation(builds: dict[str, Build], overlay: str) -> None:
    built = builds[overlay]
    failures, skipped = [], set()
    for document in built.objects:
        kind = (document["apiVersion"], document["kind"])
        if kind in SKIPPED:
            skipped.add(kind)
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as error:
            failures.append(f"{document['kind']} {document['metadata'].get('name')}: {error}")
    assert not failures, "\n".join(failures)
    assert skipped == SKIPPED, "the overlay should carry every component (certificates, PostgreSQL)"
    assert len(built.objects) - sum(1 for d in built.objects if (d["apiVersion"], d["kind"]) in SKIPPED) > 40
