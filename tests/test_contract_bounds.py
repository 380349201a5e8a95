"""Every field a caller sends has a documented bound: each string, bytes and repeated field that any RPC takes (its
request and every message inside it, output-only fields aside) says in its comment how long or how many it may be,
and each RPC refuses more than that with INVALID_ARGUMENT naming the field (test_hostile_input sends long strings
and the enforcement is in each service's entrypoints). A whole message is at most gRPC's 4 MiB."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

from google.protobuf import descriptor_pb2

PROTOS = Path(__file__).resolve().parent.parent / "protos"
# How a comment states a bound: a length or a count, or a format of fixed length.
BOUNDED = ("at most", "a uuid", "digits")
FIELD, NESTED = 2, 3  # DescriptorProto's field numbers of `field` and `nested_type`, in source-info paths


def described(tmp_path: Path) -> descriptor_pb2.FileDescriptorSet:
    out = tmp_path / "protos.pb"
    sources = sorted(p.relative_to(PROTOS).as_posix() for p in (PROTOS / "gjeld").rglob("*.proto"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"-I{PROTOS}",
            f"-I{resources.files('grpc_tools') / '_proto'}",
            "--include_source_info",
            "--include_imports",
            f"--descriptor_set_out={out}",
            *sources,
        ],
        check=True,
        cwd=PROTOS,
    )
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def test_every_field_a_caller_sends_has_a_documented_bound(tmp_path: Path) -> None:
    files = described(tmp_path)
    messages: dict[str, descriptor_pb2.DescriptorProto] = {}
    comments: dict[tuple[str, str], str] = {}

    def index(package: str, message: descriptor_pb2.DescriptorProto, path: tuple[int, ...], info: dict) -> None:
        name = f"{package}.{message.name}"
        messages[name] = message
        for i, field in enumerate(message.field):
            comments[(name, field.name)] = info.get((*path, FIELD, i), "")
        for i, nested in enumerate(message.nested_type):
            index(name, nested, (*path, NESTED, i), info)

    services = []
    for file in files.file:
        info = {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}
        for i, message in enumerate(file.message_type):
            index(file.package, message, (4, i), info)
        if file.package.startswith("gjeld."):
            services += [(file.package, s) for s in file.service]
    assert len(services) == 5  # ours and the creditor API banks serve

    unbounded, seen = [], set()

    def walk(name: str) -> None:
        if name in seen or name.startswith("google."):
            return
        seen.add(name)
        for field in messages[name].field:
            comment = " ".join(comments[(name, field.name)].split())
            if comment.startswith("Output only"):
                continue
            repeated = field.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED
            text = field.type in (descriptor_pb2.FieldDescriptorProto.TYPE_STRING, field.TYPE_BYTES)
            if (repeated or text) and not any(bound in comment.lower() for bound in BOUNDED):
                unbounded.append(f"{name}.{field.name}: {comment[:80]}")
            if field.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
                walk(field.type_name.lstrip("."))

    for _package, service in services:
        for method in service.method:
            walk(method.input_type.lstrip("."))
    assert len(seen) > 40
    assert not unbounded, "fields without a documented bound:\n" + "\n".join(unbounded)
