"""The network policies allow exactly the calls the code makes.

Three links: the written policies are what the generator makes of deploy/k8s/calls.yaml; the description says what
the code says (the settings' `<service>_address` fields, who has a database, which listeners the access rules open to
callers from outside); and the policies, as built, evaluated the way a network plugin does (a connection passes when
a policy selecting the destination lets it in and one selecting the source lets it out), allow exactly that graph.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from gjeld_consent.entrypoints import ACCESS as CONSENT
from gjeld_ingest.entrypoints import ACCESS as INGEST
from gjeld_lookup.entrypoints import ACCESS as LOOKUP
from gjeld_notify.entrypoints import ACCESS as NOTIFY
from gjeld_shared.access import Either, Institutions, Operators, Rule, Services, Subjects
from gjeld_tools import devstack, network_policies

from .conftest import DATABASE_WORKLOADS, OVERLAYS, SERVICES, SETTINGS, WORKLOADS, Build, code_calls

ACCESS: dict[str, dict[str, Rule]] = {"ingest": INGEST, "lookup": LOOKUP, "consent": CONSENT, "notify": NOTIFY}
EDGE_NAMESPACE = "ingress-nginx"
OUTSIDE_ADDRESS = "203.0.113.10"  # TEST-NET-3: an address on the internet
INSIDE_ADDRESS = "10.1.2.3"  # a pod or node address inside the cluster


@dataclass
class Endpoint:
    """A pod (its labels, its namespace's labels, its ports by name) or an address outside the pod network."""

    labels: dict[str, str] = field(default_factory=dict)
    namespace: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    address: str | None = None


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert not selector.get("matchExpressions"), "matchExpressions: teach this test to read them"
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


def peer_matches(peer: dict[str, Any], other: Endpoint, own_namespace: dict[str, str]) -> bool:
    if "ipBlock" in peer:
        if other.address is None:
            return False  # pods are reached by pod selectors here; an ipBlock names the world outside
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.address)
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(excluded) for excluded in block.get("except", [])
        )
    if other.address is not None:
        return False
    namespace_ok = (
        selects(peer["namespaceSelector"], other.namespace)
        if "namespaceSelector" in peer
        else (other.namespace == own_namespace)
    )
    return namespace_ok and selects(peer.get("podSelector", {}), other.labels)


def port_matches(rule: dict[str, Any], destination: Endpoint, port: int) -> bool:
    if "ports" not in rule:
        return True
    for allowed in rule["ports"]:
        number = destination.ports.get(allowed["port"]) if isinstance(allowed["port"], str) else allowed["port"]
        if allowed.get("protocol", "TCP") == "TCP" and number == port:
            return True
    return False


def admits(
    policies: list[dict[str, Any]],
    direction: str,
    subject: Endpoint,
    other: Endpoint,
    destination: Endpoint,
    port: int,
    namespace: dict[str, str],
) -> bool:
    """Whether the policies let the connection through on `subject`'s side, in `direction`. A pod no policy of its
    namespace selects (for that direction) is not isolated: everything passes."""
    if subject.namespace != namespace:
        return True  # another namespace's pod: gjeld's policies do not govern it
    selecting = [
        p
        for p in policies
        if selects(p["spec"]["podSelector"], subject.labels) and direction.capitalize() in p["spec"]["policyTypes"]
    ]
    if not selecting:
        return True
    peers = "from" if direction == "ingress" else "to"
    return any(
        port_matches(rule, destination, port)
        and (peers not in rule or any(peer_matches(p, other, namespace) for p in rule[peers]))
        for policy in selecting
        for rule in policy["spec"].get(direction, [])
    )


class Network:
    """The built overlay's policies, and the pods they govern."""

    def __init__(self, built: Build) -> None:
        self.policies = built.all("NetworkPolicy")
        self.namespace = {"kubernetes.io/metadata.name": built.namespace}
        self.pods: dict[str, Endpoint] = {}
        for kind in ("Deployment", "Job"):
            for workload in built.all(kind):
                template = workload["spec"]["template"]
                containers = template["spec"]["containers"]
                ports = {p["name"]: p["containerPort"] for c in containers for p in c.get("ports", [])}
                key = workload["metadata"]["name"]
                self.pods[key] = Endpoint(template["metadata"]["labels"], self.namespace, ports)
        # Each PostgreSQL cluster's instances, by the cluster's name (CloudNativePG labels them cnpg.io/cluster).
        self.clusters: dict[str, Endpoint] = {
            cluster["metadata"]["name"]: Endpoint(
                {"cnpg.io/cluster": cluster["metadata"]["name"]}, self.namespace, {"postgresql": 5432, "status": 8000}
            )
            for cluster in built.all("Cluster")
        }

    def allows(self, source: Endpoint, destination: Endpoint, port: int) -> bool:
        out = source.address is not None or admits(
            self.policies, "egress", source, destination, destination, port, self.namespace
        )
        into = destination.address is not None or admits(
            self.policies, "ingress", destination, source, destination, port, self.namespace
        )
        return out and into


def edge() -> Endpoint:
    return Endpoint({"app.kubernetes.io/name": "ingress-nginx"}, {"kubernetes.io/metadata.name": EDGE_NAMESPACE})


def test_the_written_policies_are_the_descriptions() -> None:
    written = network_policies.POLICIES.read_text()
    assert written == network_policies.render(network_policies.load()), "run python -m gjeld_tools.network_policies"


def each_rule(rules: Iterable[Rule]) -> Iterator[Rule]:
    """The rules, an Either's two sides each on its own (a call that fits either is a call the code makes)."""
    for rule in rules:
        if isinstance(rule, Either):
            yield from each_rule((rule.first, rule.second))
        else:
            yield rule


def listeners_open_to_outside(service: str) -> set[str]:
    """The listeners callers from outside gjeld need, by the service's access rules: the certificate listener for
    institutions that present their enterprise certificate, the token listener for tokens alone."""
    needed = set()
    for rule in each_rule(ACCESS[service].values()):
        if isinstance(rule, Institutions) and rule.certificate:
            needed.add("grpc")
        elif isinstance(rule, Institutions | Subjects | Operators):
            needed.add("grpc-token")
        else:
            assert isinstance(rule, Services), rule
    return needed


def test_the_description_is_the_codes() -> None:
    description = network_policies.load()["workloads"]
    assert set(description) == set(WORKLOADS)
    described = {(caller, callee) for caller, workload in description.items() for callee in workload["calls"]}
    assert described == code_calls()
    for service in SERVICES:
        assert set(description[service]["from_outside"]) == listeners_open_to_outside(service), service
    assert description["portal"]["from_outside"] == ["http"]
    # Each database is a cluster of its own (the manifests' URLs name it: test_certificates_and_databases).
    databases = {name: description[name]["database"] for name in DATABASE_WORKLOADS}
    assert databases == {name: f"{name}-postgres" for name in DATABASE_WORKLOADS}
    for name, settings in SETTINGS.items():
        assert bool(description[name]["database"]) == ("database_url" in settings.model_fields), name
    # Internal RPCs admit by certificate the services that call them: every such caller is in the description.
    for service in SERVICES:
        for rule in each_rule(ACCESS[service].values()):
            if isinstance(rule, Services):
                assert all((caller, service) in described for caller in rule.names), (rule, service)


def calls_outside(name: str) -> bool:
    """Whether the code calls beyond the cluster: institutions (devstack's CALLS_INSTITUTIONS: those holding the
    registry's certificate), providers and identity providers (settings with a URL of theirs)."""
    urls = {f for f in SETTINGS[name].model_fields if f.endswith("_url") and f not in {"database_url", "public_url"}}
    return name in devstack.CALLS_INSTITUTIONS or bool(urls)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_policies_allow_exactly_the_calls_of_the_code(builds: dict[str, Build], overlay: str) -> None:
    network = Network(builds[overlay])
    pods = network.pods
    allowed = {
        (source, destination, listener)
        for source in WORKLOADS
        for destination in WORKLOADS
        for listener, port in pods[destination].ports.items()
        if listener != "health" and source != destination and network.allows(pods[source], pods[destination], port)
    }
    assert allowed == {(caller, callee, "grpc") for caller, callee in code_calls()}
    # From outside, through the edge: the listeners the access rules need, and the portal's pages.
    for name in WORKLOADS:
        # (the health port is open to all, for the probes, below)
        open_outside = {
            listener
            for listener, port in pods[name].ports.items()
            if listener != "health" and network.allows(edge(), pods[name], port)
        }
        expected = {"http"} if name == "portal" else listeners_open_to_outside(name)
        assert open_outside == expected, name
        # The kubelet's probes reach the probe port, whatever the node's address.
        probe = "http" if name == "portal" else "health"
        assert network.allows(Endpoint(address=INSIDE_ADDRESS), pods[name], pods[name].ports[probe])
    # PostgreSQL: the workloads that have a database and their migration Jobs, nobody else (each only its own
    # cluster: test_each_database_cluster_takes_only_its_own_service below).
    database_users = set(DATABASE_WORKLOADS)
    reach = {
        name for name in pods if any(network.allows(pods[name], cluster, 5432) for cluster in network.clusters.values())
    }
    assert reach == database_users | {f"{name}-migrate" for name in database_users}
    # The migration Jobs reach nothing else of gjeld's.
    for name in database_users:
        job = pods[f"{name}-migrate"]
        assert not any(
            network.allows(job, pods[other], port) for other in WORKLOADS for port in pods[other].ports.values()
        )
    # Traces: every workload reaches the collector.
    assert all(network.allows(pods[name], pods["otel-collector"], 4317) for name in WORKLOADS)
    # Beyond the cluster: exactly those whose code calls out; and "outside" opens no way into the cluster.
    out = {name for name in WORKLOADS if network.allows(pods[name], Endpoint(address=OUTSIDE_ADDRESS), 443)}
    assert out == {name for name in WORKLOADS if calls_outside(name)}
    assert not any(network.allows(pods[name], Endpoint(address=INSIDE_ADDRESS), 443) for name in WORKLOADS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_database_cluster_takes_only_its_own_service(builds: dict[str, Build], overlay: str) -> None:
    """A workload's pods and its migration Job reach its own PostgreSQL cluster and no other; a cluster's instances
    replicate only among themselves; the operator and the kubelet reach every cluster."""
    network = Network(builds[overlay])
    pods, clusters = network.pods, network.clusters
    own = {f"{service}-postgres": service for service in DATABASE_WORKLOADS}
    assert set(clusters) == set(own), "one CloudNativePG cluster per workload with a database"
    for cluster_name, cluster in clusters.items():
        service = own[cluster_name]
        reach = {name for name, pod in pods.items() if network.allows(pod, cluster, 5432)}
        assert reach == {service, f"{service}-migrate"}, f"{cluster_name} is reached by {sorted(reach)}"
        # Each side holds on its own: the cluster lets in only its own service's pods, whatever the others' egress
        # says; and no other pod's egress lets it out to the cluster, whatever the cluster's ingress says.
        let_in = {
            name
            for name, pod in pods.items()
            if admits(network.policies, "ingress", cluster, pod, cluster, 5432, network.namespace)
        }
        assert let_in == {service, f"{service}-migrate"}, f"{cluster_name} lets in {sorted(let_in)}"
        let_out = {
            name
            for name, pod in pods.items()
            if admits(network.policies, "egress", pod, cluster, cluster, 5432, network.namespace)
        }
        assert let_out == {service, f"{service}-migrate"}, f"{sorted(let_out)} may go out to {cluster_name}"
        # Replication: a cluster's instances reach each other, never another cluster's.
        for other_name, other in clusters.items():
            assert network.allows(other, cluster, 5432) == (other_name == cluster_name), (other_name, cluster_name)
            for direction, subject, peer in (("ingress", cluster, other), ("egress", other, cluster)):
                passes = admits(network.policies, direction, subject, peer, cluster, 5432, network.namespace)
                assert passes == (other_name == cluster_name), (direction, other_name, cluster_name)
        # The operator (its namespace) manages the instances through PostgreSQL and the status port.
        operator = Endpoint(
            {"app.kubernetes.io/name": "cloudnative-pg"}, {"kubernetes.io/metadata.name": "cnpg-system"}
        )
        assert network.allows(operator, cluster, 5432) and network.allows(operator, cluster, 8000)
        assert not network.allows(edge(), cluster, 5432), "nothing from outside reaches PostgreSQL"
    # Each migration Job reaches its own cluster and nothing else at all of gjeld's.
    for service in DATABASE_WORKLOADS:
        job = pods[f"{service}-migrate"]
        reached = {name for name, cluster in clusters.items() if network.allows(job, cluster, 5432)}
        assert reached == {f"{service}-postgres"}, f"{service}-migrate reaches {sorted(reached)}"
