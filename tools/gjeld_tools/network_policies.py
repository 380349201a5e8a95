"""The network policies of deploy/k8s, written from one description of who calls whom (deploy/k8s/calls.yaml).

Everything is denied, in and out; then each workload may take exactly the calls the description names, on the
listener named (a container port's name in the base), and make exactly its own: to the services it dials, its
own database cluster, the trace collector, DNS, and the destinations outside the cluster it needs. The kubelet's
probes reach each probe port. The migration Jobs reach only their own workload's database cluster. Each
PostgreSQL cluster (CloudNativePG: one per workload with a database, the four services and the portal) takes
connections only from that workload's pods, its own instances and the operator. tests/deploy holds the description
to the code and the written file to this module's output.

    python -m gjeld_tools.network_policies          write components/network-policies/network-policies.yaml
    python -m gjeld_tools.network_policies --check  fail if the file is not what the description gives
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
DESCRIPTION = K8S / "calls.yaml"
POLICIES = K8S / "components" / "network-policies" / "network-policies.yaml"
HEADER = """\
# Written by `python -m gjeld_tools.network_policies` from deploy/k8s/calls.yaml: do not edit by hand (the tests
# check that this file is what the description gives). Change the description, then run the command again.
"""

Policy = dict[str, Any]
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"


def load(path: Path = DESCRIPTION) -> dict[str, Any]:
    description: dict[str, Any] = yaml.safe_load(path.read_text())
    return description


def server(name: str) -> dict[str, Any]:
    """The pods of a workload that serve (not its migration Job's)."""
    return {"matchLabels": {NAME: name, COMPONENT: "server"}}


def tcp(*ports: int | str) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def policy(name: str, selector: dict[str, Any], ingress: list[Any] | None, egress: list[Any] | None) -> Policy:
    spec: dict[str, Any] = {"podSelector": selector, "policyTypes": []}
    if ingress is not None:
        spec["policyTypes"].append("Ingress")
        spec["ingress"] = ingress
    if egress is not None:
        spec["policyTypes"].append("Egress")
        spec["egress"] = egress
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name}, "spec": spec}


def policies(description: dict[str, Any]) -> list[Policy]:
    workloads: dict[str, dict[str, Any]] = description["workloads"]
    outside: dict[str, list[int]] = description["outside"]
    postgres: dict[str, Any] = description["postgres"]
    collector: dict[str, Any] = description["collector"]
    beyond = {"ipBlock": {"cidr": "0.0.0.0/0", "except": description["private_ranges"]}}
    edge = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": description["edge_namespace"]}}}
    # Each workload with a database, and its own cluster (no two share one).
    clusters: dict[str, str] = {name: w["database"] for name, w in workloads.items() if w["database"]}
    if len(set(clusters.values())) != len(clusters):
        raise ValueError(f"a database cluster is shared: {clusters}")

    written = [
        # Nothing in, nothing out, unless a policy below says so.
        policy("deny-all", {}, [], []),
        policy(
            "dns",
            {},
            None,
            [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        ),
    ]
    for name, workload in workloads.items():
        callers = sorted(caller for caller, other in workloads.items() if name in other["calls"])
        ingress: list[Any] = [{"from": [{"podSelector": server(caller)}], "ports": tcp("grpc")} for caller in callers]
        if workload["from_outside"]:
            ingress.append({"from": [edge], "ports": tcp(*workload["from_outside"])})
        # The kubelet probes from the node, whose address differs between clusters: the probe port is open to all
        # (the health listener says SERVING or not, nothing else; the portal's pages are public anyway).
        ingress.append({"ports": tcp(workload["probed_on"])})
        egress: list[Any] = [
            {"to": [{"podSelector": server(callee)}], "ports": tcp("grpc")} for callee in workload["calls"]
        ]
        if workload["database"]:
            egress.append({"to": [{"podSelector": instances(workload["database"])}], "ports": tcp(postgres["port"])})
        egress.append({"to": [{"podSelector": server_or_any(collector["name"])}], "ports": tcp(collector["port"])})
        ports = sorted({port for destination in workload["calls_out"] for port in outside[destination]})
        if ports:
            egress.append({"to": [beyond], "ports": tcp(*ports)})
        written.append(policy(name, server(name), ingress, egress))
    for name, cluster in sorted(clusters.items()):
        migration = {"matchLabels": {NAME: name, COMPONENT: "migration"}}
        egress = [{"to": [{"podSelector": instances(cluster)}], "ports": tcp(postgres["port"])}]
        written.append(policy(f"{name}-migrate", migration, [], egress))

    operator = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": postgres["operator_namespace"]}}}
    for name, cluster in sorted(clusters.items()):
        own = {"podSelector": instances(cluster)}
        written.append(
            policy(
                cluster,
                instances(cluster),
                [
                    # Its own workload's pods (servers and migration Job), and its own instances (replication).
                    {"from": [{"podSelector": {"matchLabels": {NAME: name}}}, own], "ports": tcp(postgres["port"])},
                    {"from": [operator], "ports": tcp(postgres["port"], postgres["status_port"])},
                    # The kubelet probes the instance manager's status port.
                    {"ports": tcp(postgres["status_port"])},
                ],
                [
                    {"to": [own], "ports": tcp(postgres["port"])},  # replication, within the cluster only
                    {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": tcp(*postgres["kubernetes_api_ports"])},
                ],
            )
        )
    senders = [{"podSelector": server(name)} for name in workloads]
    written.append(
        policy(
            collector["name"],
            server_or_any(collector["name"]),
            [{"from": senders, "ports": tcp(collector["port"])}, {"ports": tcp(collector["probed_on"])}],
            [],
        )
    )
    return written


def instances(cluster: str) -> dict[str, Any]:
    """The pods of one CloudNativePG cluster: its instances (and the operator's jobs that make them)."""
    return {"matchLabels": {"cnpg.io/cluster": cluster}}


def server_or_any(name: str) -> dict[str, Any]:
    """A workload that has no migration Job (the collector): all its pods."""
    return {"matchLabels": {NAME: name}}


def render(description: dict[str, Any]) -> str:
    documents: str = yaml.safe_dump_all(policies(description), sort_keys=False, default_flow_style=False, width=120)
    return HEADER + "---\n" + documents


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gjeld_tools.network_policies", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the written policies are not the description's")
    args = parser.parse_args(argv)
    text = render(load())
    if args.check:
        if POLICIES.read_text() != text:
            print(f"{POLICIES} is stale: run python -m gjeld_tools.network_policies", file=sys.stderr)
            return 1
        return 0
    POLICIES.write_text(text)
    print(f"wrote {POLICIES.relative_to(K8S.parents[1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
