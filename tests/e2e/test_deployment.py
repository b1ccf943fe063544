"""docker-compose.yml and the Dockerfile, checked as far as they can be without a container
engine (there is none on this machine): compose's file is read as YAML and its variables
interpolated as compose does; the Dockerfile is read instruction by instruction. What runs is
run for real where it can be outside a container: the image's health check against a real
server, the Neo4j health check's shell under sh, the env file through the service's settings.
Neither the image is built nor Neo4j started here; README.md, "Running on Neo4j", says so."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import uvicorn
import yaml
from pydantic import ValidationError

from service.app import create_app
from service.composition import bolt_target, sqlite_path
from service.config import Settings
from tests.e2e.test_server import free_port, wait_until_up

ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / "deploy.env.example"

# The variables with the NEO4J_ prefix that the Neo4j 5 image's entrypoint keeps for itself
# (its `not_configs`); every other one it writes into neo4j.conf as a setting.
NEO4J_IMAGE_VARIABLES = {
    "NEO4J_ACCEPT_LICENSE_AGREEMENT",
    "NEO4J_AUTH",
    "NEO4J_AUTH_PATH",
    "NEO4J_DEBUG",
    "NEO4J_EDITION",
    "NEO4J_HOME",
    "NEO4J_PLUGINS",
    "NEO4J_SHA256",
    "NEO4J_TARBALL",
}
# The settings docker-compose.yml may give Neo4j, each a setting of Neo4j 5's configuration
# reference: with strict validation (the default) Neo4j refuses to start on any other. Add a
# setting here only after finding it there.
NEO4J_SETTINGS = {
    "server.memory.heap.initial_size",
    "server.memory.heap.max_size",
    "server.memory.pagecache.size",
    "db.memory.transaction.total.max",
}


def neo4j_setting(variable: str) -> str:
    """The setting the image makes of a variable: NEO4J_server_memory_heap_max__size is
    server.memory.heap.max_size."""
    return variable.removeprefix("NEO4J_").replace("_", ".").replace("..", "_")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation of ${VAR}, ${VAR:-default}, ${VAR:?message} and $$."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group("name"), match.group("op"), match.group("arg")
        value = env.get(name, "")
        if operator == ":-" and not value:
            return interpolate(argument, env)
        if operator == ":?" and not value:
            raise ValueError(f"{name}: {argument}")
        return value

    pattern = r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}"
    return re.sub(pattern, one, text)


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments left out."""
    logical: list[str] = []
    pending = ""
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation"
    instructions = []
    for text in logical:
        keyword, _, arguments = text.strip().partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return instructions


def only(keyword: str) -> Instruction:
    (found,) = [i for i in dockerfile() if i.keyword == keyword]
    return found


def image_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in dockerfile():
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.arguments):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def run_commands() -> list[list[str]]:
    """The commands of every RUN, split at && into argument lists."""
    commands = []
    for instruction in dockerfile():
        if instruction.keyword == "RUN":
            for part in instruction.arguments.split("&&"):
                commands.append(shlex.split(part))
    return commands


def image_user() -> str:
    return only("USER").arguments


def data_directory() -> PurePosixPath:
    """The image's data directory: where its default store lives."""
    return PurePosixPath(sqlite_path(image_env()["LINEAGE_STORE"]).parent)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    )
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment, in either of compose's two spellings."""
    given = service.get("environment", {})
    if isinstance(given, list):
        return dict(entry.partition("=")[::2] for entry in given)
    return {key: str(value) for key, value in given.items()}


def test_neo4j_gets_no_variable_it_would_turn_into_an_unknown_setting(
    compose: dict[str, Any],
) -> None:
    # The rule itself: the password under its own name would become the setting "PASSWORD".
    assert neo4j_setting("NEO4J_PASSWORD") == "PASSWORD"
    assert neo4j_setting("NEO4J_server_memory_heap_max__size") == "server.memory.heap.max_size"
    neo4j = compose["services"]["neo4j"]
    for variable in environment(neo4j):
        if variable.startswith("NEO4J_") and variable not in NEO4J_IMAGE_VARIABLES:
            assert neo4j_setting(variable) in NEO4J_SETTINGS, variable
    # The health check runs in the same container: it may read only what its environment
    # holds (after compose has turned $$ into $ and interpolated nothing else).
    kind, command = neo4j["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    assert re.search(r"(?<!\$)\$(?!\$)", command) is None, "compose would interpolate it"
    read = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", interpolate(command, {})))
    assert read, command
    assert read <= set(environment(neo4j)), read


def test_the_neo4j_health_check_signs_in_with_the_password_of_neo4j_auth(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    """Run under sh with a stand-in for cypher-shell (declared as such: it only records its
    arguments and answers as told); what is checked is the shell's part, not Neo4j's."""
    command = interpolate(compose["services"]["neo4j"]["healthcheck"]["test"][1], {})
    stand_in = tmp_path / "cypher-shell"
    stand_in.write_text(
        f'#!/bin/sh\n{shlex.quote(sys.executable)} -c "import json, sys; '
        f"json.dump(sys.argv[1:], open('{tmp_path}/args.json', 'w'))\" \"$@\"\n"
        'exit "${ANSWER:-0}"\n',
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    password = "a-long_pass.word~1"  # the characters docker-compose.yml allows
    env = {
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "NEO4J_AUTH": interpolate(
            environment(compose["services"]["neo4j"])["NEO4J_AUTH"], {"NEO4J_PASSWORD": password}
        ),
    }
    assert subprocess.run(["sh", "-c", command], env=env, check=False).returncode == 0
    arguments = json.loads((tmp_path / "args.json").read_text(encoding="utf-8"))
    assert arguments == ["-u", "neo4j", "-p", password, "RETURN 1"]
    refused = subprocess.run(["sh", "-c", command], env={**env, "ANSWER": "1"}, check=False)
    assert refused.returncode != 0


def test_the_service_signs_in_to_neo4j_with_the_password_neo4j_was_given(
    compose: dict[str, Any],
) -> None:
    password = "a-long_pass.word~1"
    neo4j, lineage = compose["services"]["neo4j"], compose["services"]["lineage"]
    auth = interpolate(environment(neo4j)["NEO4J_AUTH"], {"NEO4J_PASSWORD": password})
    assert auth == f"neo4j/{password}"
    url = interpolate(environment(lineage)["LINEAGE_STORE"], {"NEO4J_PASSWORD": password})
    target = bolt_target(url)
    assert target.auth == ("neo4j", password)
    assert target.uri == "neo4j://neo4j:7687"  # the service's name on compose's network
    assert "7687" in neo4j["ports"][0].rsplit(":", 1)[1]
    # Without a password compose stops at once, rather than start Neo4j with an empty one.
    for text in (environment(neo4j)["NEO4J_AUTH"], environment(lineage)["LINEAGE_STORE"]):
        with pytest.raises(ValueError, match="NEO4J_PASSWORD"):
            interpolate(text, {})


def test_ports_are_published_on_the_loopback_by_default_and_match_the_image(
    compose: dict[str, Any],
) -> None:
    neo4j, lineage = compose["services"]["neo4j"], compose["services"]["lineage"]
    assert [interpolate(p, {}) for p in neo4j["ports"]] == ["127.0.0.1:7687:7687"]
    (published,) = [interpolate(p, {}) for p in lineage["ports"]]
    host, host_port, container_port = published.split(":")
    assert (host, host_port) == ("127.0.0.1", "8000")
    assert container_port == environment(lineage)["LINEAGE_PORT"]
    assert container_port == only("EXPOSE").arguments == image_env()["LINEAGE_PORT"]
    # LINEAGE_PUBLISH moves the published address, never the port inside.
    moved = interpolate(lineage["ports"][0], {"LINEAGE_PUBLISH": "0.0.0.0:9000"})
    assert moved == f"0.0.0.0:9000:{container_port}"
    assert environment(lineage)["LINEAGE_HOST"] == "0.0.0.0"  # noqa: S104 (inside the container)


def test_both_services_keep_their_data_on_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    neo4j, lineage = compose["services"]["neo4j"], compose["services"]["lineage"]
    assert neo4j["volumes"] == ["neo4j-data:/data"]
    (mount,) = lineage["volumes"]
    name, target = mount.split(":")
    assert {name, "neo4j-data"} <= declared
    # On the image's data directory: a named volume starts as a copy of it, owner included.
    assert PurePosixPath(target) == data_directory()
    assert only("VOLUME").arguments == str(data_directory())


def test_the_image_runs_as_a_user_who_owns_the_data_directory_and_not_the_code() -> None:
    user = image_user()
    assert user not in {"root", "0", ""}
    keywords = [i.keyword for i in dockerfile()]
    # Set up as root, then everything from USER on (the service, its health check) as the user.
    assert keywords.index("RUN") < keywords.index("USER") < keywords.index("CMD")
    assert keywords.index("USER") < keywords.index("HEALTHCHECK")
    (created,) = [c for c in run_commands() if c and c[0] == "useradd"]
    assert created[-1] == user
    assert created[created.index("--uid") + 1] != "0"
    assert created[created.index("--shell") + 1] == "/usr/sbin/nologin"
    (made,) = [c for c in run_commands() if c and c[0] == "install" and "-d" in c]
    assert made[made.index("-o") + 1] == user
    assert PurePosixPath(made[-1]) == data_directory()
    # Nothing gives the user the code.
    code = only("WORKDIR").arguments
    for command in run_commands():
        if command and command[0] in {"chown", "chmod", "install"}:
            assert not any(a == code or a.startswith(code + "/") for a in command), command
    assert not any("--chown" in i.arguments for i in dockerfile() if i.keyword == "COPY")
    # The default store, inside it; its audit trail goes beside it (lineage.audit.db).
    assert image_env()["LINEAGE_STORE"] == f"sqlite:///{data_directory()}/lineage.db"


def test_the_image_holds_what_the_package_is_built_from() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    copied = {
        part.rstrip("/").removeprefix("./")
        for i in dockerfile()
        if i.keyword == "COPY"
        for part in shlex.split(i.arguments)[:-1]
    }
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert {*packages, project["project"]["readme"], "pyproject.toml", "constraints.txt"} <= copied
    base = only("FROM").arguments
    found = re.fullmatch(r"python:(\d+)\.(\d+)-slim", base)
    assert found, base
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", project["project"]["requires-python"])
    assert minimum
    assert (int(found[1]), int(found[2])) >= (int(minimum[1]), int(minimum[2]))


def test_the_command_is_the_console_script_serving(compose: dict[str, Any]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert json.loads(only("CMD").arguments) == ["lineage", "serve"]
    assert project["project"]["scripts"]["lineage"] == "service.cli:main"
    lineage = compose["services"]["lineage"]
    assert lineage["build"] == "."
    assert not {"command", "entrypoint"} & set(lineage)
    assert lineage["depends_on"] == {"neo4j": {"condition": "service_healthy"}}
    assert "healthcheck" in compose["services"]["neo4j"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The service on a free port, on an embedded store: the port."""
    folder = tmp_path_factory.mktemp("deployment")
    settings = Settings(store=f"sqlite:///{folder / 'lineage.db'}", daily_expiry=False)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_the_image_health_check_asks_the_port_of_lineage_port(served: int) -> None:
    options, _, command = only("HEALTHCHECK").arguments.partition("CMD ")
    assert "--timeout=" in options
    argv = json.loads(command)  # the exec form: no shell in between
    assert argv[0] == "python"
    check = [sys.executable, *argv[1:]]

    def health(port: int) -> int:
        env = {**os.environ, "LINEAGE_PORT": str(port)}
        return subprocess.run(check, env=env, capture_output=True, check=False).returncode

    assert health(served) == 0
    assert health(free_port()) != 0  # nothing listens there: unhealthy


def env_file_lines() -> list[tuple[str, str, bool]]:
    """(key, value, commented out) for each setting of deploy.env.example."""
    found = []
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        setting = re.fullmatch(r"(#?)([A-Z][A-Z0-9_]*)=(.*)", line)
        if setting:
            found.append((setting[2], setting[3], setting[1] == "#"))
        else:
            assert line in ("", "#") or line.startswith("# "), f"what is this: {line}"
    return found


def test_the_service_reads_its_secret_and_production_settings_from_an_env_file(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    lineage = compose["services"]["lineage"]
    assert lineage["env_file"] in ("deploy.env", ["deploy.env"])
    assert "LINEAGE_SECRET_KEY" not in environment(lineage)
    # The file itself stays out of git and out of the image's build context.
    assert "/deploy.env" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "deploy.env" in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()

    lines = env_file_lines()
    known = {f"LINEAGE_{name.upper()}" for name in Settings.model_fields}
    for key, value, _ in lines:
        assert key in known, f"{key} is no setting of the service"
        # Read alike by docker run (which keeps quotes) and compose (which strips them).
        assert not re.search(r"""["']|\s#""", value), f"{key}={value}"
    active = {key: value for key, value, commented in lines if not commented}
    assert {"LINEAGE_SECRET_KEY", "LINEAGE_PRODUCTION"} <= set(active)
    # What compose sets is not offered here, where it would be overridden without a word.
    assert not set(active) & set(environment(lineage))

    for key in known:
        monkeypatch.delenv(key, raising=False)
    for key, value in active.items():
        monkeypatch.setenv(key, value)
    # As shipped the key is empty, and the service refuses to start without one.
    with pytest.raises(ValidationError, match="secret_key"):
        Settings()
    monkeypatch.setenv("LINEAGE_SECRET_KEY", "k" * 43)
    settings = Settings()
    assert settings.production is True
    assert settings.secret_key == "k" * 43
