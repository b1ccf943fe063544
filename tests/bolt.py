"""A real Bolt server for the tests: Neo4j when NEO4J_URI is set, otherwise ArcadeDB's Bolt
plugin started in this process from the `arcadedb-embedded` wheel (it bundles its own JRE;
CI has no Docker and no Neo4j).

One server serves the whole test session; each test gets an empty database of its own.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from neo4j import GraphDatabase

LOGGING = Path(__file__).with_name("arcadedb-logging.properties")
PASSWORD = "lineage-test-password"  # ArcadeDB wants eight characters or more


class BoltServer(Protocol):
    def new_database(self) -> str:
        """The store URL of an empty database."""
        ...

    def stop(self) -> None: ...


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ArcadeBolt:
    """ArcadeDB with its Bolt plugin on a free loopback port, files in a temporary folder."""

    def __init__(self, heap: str = "512m") -> None:
        from arcadedb_embedded.server import ArcadeDBServer

        self.root = tempfile.mkdtemp(prefix="lineage-arcadedb-")
        self.port = free_port()
        self._names = itertools.count(1)
        self.server: Any = ArcadeDBServer(
            root_path=self.root,
            root_password=PASSWORD,
            config={
                "host": "127.0.0.1",
                "http_port": free_port(),
                "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
                "bolt_port": self.port,
            },
            jvm_kwargs={
                "heap_size": heap,
                "jvm_args": [f"-Djava.util.logging.config.file={LOGGING}"],
            },
        )
        self.server.start()

    def new_database(self) -> str:
        name = f"lineage{next(self._names)}"
        self.server.create_database(name)
        return f"bolt://root:{quote(PASSWORD)}@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        # The JVM keeps the interpreter from exiting until the server has stopped.
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class ExternalNeo4j:
    """A Neo4j named by NEO4J_URI (NEO4J_USER, NEO4J_PASSWORD, NEO4J_DATABASE); each test
    empties its database first, so point it at a database used for nothing else."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.user = os.environ.get("NEO4J_USER", "neo4j")
        self.password = os.environ.get("NEO4J_PASSWORD", "")
        self.database = os.environ.get("NEO4J_DATABASE", "neo4j")

    def new_database(self) -> str:
        with GraphDatabase.driver(self.uri, auth=(self.user, self.password)) as driver:
            driver.execute_query("MATCH (n) DETACH DELETE n", database_=self.database)
        parts = urlsplit(self.uri)
        credentials = f"{quote(self.user)}:{quote(self.password)}"
        return f"{parts.scheme}://{credentials}@{parts.netloc}/{self.database}"

    def stop(self) -> None:
        pass


def start() -> BoltServer:
    uri = os.environ.get("NEO4J_URI")
    return ExternalNeo4j(uri) if uri else ArcadeBolt()


def session_server() -> Iterator[BoltServer]:
    server = start()
    try:
        yield server
    finally:
        server.stop()
