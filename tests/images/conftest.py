"""The images' Dockerfiles, locks and settings, read for the tests of tests/images.

There is no container engine here to build the images, so these tests read what would be built: the Dockerfiles
(parsed as Docker does: continuation lines joined, comment lines dropped), the locks, and the services' settings.
"""

from __future__ import annotations

import importlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOYABLES = ("ingest", "lookup", "consent", "notify", "portal")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY …
    arguments: str  # the rest, continuation lines joined
    line: int

    def flags(self) -> dict[str, str]:
        """The instruction's own --flag=value options (COPY --from=build …)."""
        flags: dict[str, str] = {}
        for word in self.arguments.split():
            if not word.startswith("--"):
                break
            name, _, value = word[2:].partition("=")
            flags[name] = value
        return flags

    def words(self) -> list[str]:
        """The arguments without the instruction's flags, in the JSON form if written so."""
        if self.arguments.startswith("["):
            return list(re.findall(r'"((?:[^"\\]|\\.)*)"', self.arguments))
        return [word for word in shlex.split(self.arguments) if not word.startswith("--")]


@dataclass
class Stage:
    base: str  # FROM's image, ARGs expanded
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [instruction for instruction in self.instructions if instruction.keyword == keyword]

    def env(self) -> dict[str, str]:
        """Every variable the stage's ENV instructions set (the last value of each)."""
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            words = shlex.split(instruction.arguments)
            if len(words) >= 2 and "=" not in words[0]:  # the old form: ENV NAME value
                values[words[0]] = " ".join(words[1:])
            else:
                values.update(word.split("=", 1) for word in words if "=" in word)
        return values

    def commands(self) -> list[str]:
        """Each shell command of the stage's RUN instructions (split at && and ;)."""
        return [
            command.strip()
            for instruction in self.all("RUN")
            for command in re.split(r"&&|;", instruction.arguments)
            if command.strip()
        ]


@dataclass
class Dockerfile:
    path: Path
    arguments: dict[str, str]  # the ARGs before the first FROM, with their defaults
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    @property
    def builders(self) -> list[Stage]:
        return self.stages[:-1]


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Docker's lines: comment lines dropped (also inside a continued instruction), continuations joined."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        lines.append((start, " ".join(pending)))
        pending = []
    assert not pending, "the last instruction ends in a line continuation"
    return lines


def expand(value: str, arguments: dict[str, str]) -> str:
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: arguments.get(m[1], m[0]), value)


def parse_dockerfile(path: Path) -> Dockerfile:
    arguments: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in logical_lines(path.read_text()):
        keyword, _, rest = line.partition(" ")
        instruction = Instruction(keyword.upper(), rest.strip(), number)
        if instruction.keyword == "ARG" and not stages:
            name, _, default = instruction.arguments.partition("=")
            arguments[name] = default
        elif instruction.keyword == "FROM":
            words = [word for word in instruction.arguments.split() if not word.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(expand(words[0], arguments), name))
        else:
            assert stages, f"{path}:{number}: {instruction.keyword} before the first FROM"
            stages[-1].instructions.append(instruction)
    return Dockerfile(path, arguments, stages)


def dockerfile_of(deployable: str) -> Dockerfile:
    return parse_dockerfile(ROOT / "services" / deployable / "Dockerfile")


def settings_class(deployable: str) -> type[BaseSettings]:
    """The deployable's settings: the one BaseSettings subclass its settings module defines."""
    module = importlib.import_module(f"gjeld_{deployable}.settings")
    (found,) = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, BaseSettings) and value.__module__ == module.__name__
    ]
    return found


@pytest.fixture(params=DEPLOYABLES)
def deployable(request: pytest.FixtureRequest) -> str:
    """Each deployable in turn: its image is one Dockerfile and one lock."""
    return str(request.param)


@pytest.fixture
def dockerfile(deployable: str) -> Dockerfile:
    return dockerfile_of(deployable)


@pytest.fixture
def settings(deployable: str) -> type[BaseSettings]:
    return settings_class(deployable)
