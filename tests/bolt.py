"""A real Bolt server for the tests: Neo4j when NEO4J_URI is set, otherwise ArcadeDB's Bolt
plugin from the `arcadedb-embedded` wheel (it bundles its own JRE; CI has no Docker and no
Neo4j), run in a child process.

One server serves the whole test session; each test gets an empty database of its own.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

from neo4j import GraphDatabase

from tests.arcadedb_server import PASSWORD


class BoltServer(Protocol):
    def new_database(self) -> str:
        """The store URL of an empty database."""
        ...

    def release(self, url: str) -> None:
        """Done with the database of `url` (its connections closed): the server may drop it,
        so that a long test session does not hold hundreds of databases."""
        ...

    def stop(self) -> None: ...


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class ArcadeBolt:
    """ArcadeDB with its Bolt plugin on a free loopback port, in a child process
    (tests/arcadedb_server.py), its files in a temporary folder."""

    def __init__(self, heap: str = "512m") -> None:
        self.root = tempfile.mkdtemp(prefix="lineage-arcadedb-")
        self.port = free_port()
        self.http_port = free_port()
        self.heap = heap
        self._names = itertools.count(1)
        self.process = self._launch()

    def _launch(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.arcadedb_server",
                self.root,
                str(self.port),
                str(self.http_port),
                self.heap,
            ],
            cwd=Path(__file__).resolve().parents[1],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        ready = process.stdout.readline().strip()
        if ready != "ready":
            process.kill()
            process.wait()
            shutil.rmtree(self.root, ignore_errors=True)
            raise RuntimeError(f"ArcadeDB did not start (said {ready!r})")
        return process

    def new_database(self) -> str:
        name = f"lineage{next(self._names)}"
        self._command(f"create database {name}")
        return f"bolt://root:{quote(PASSWORD)}@127.0.0.1:{self.port}/{name}"

    def release(self, url: str) -> None:
        name = urlsplit(url).path.strip("/")
        # Best effort: a database left behind only costs the server memory and files.
        with contextlib.suppress(OSError):
            self._command(f"drop database {name}")

    def _command(self, command: str) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/api/v1/server",
            data=json.dumps({"command": command}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(f"root:{PASSWORD}".encode()).decode(),
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            response.read()

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.root, ignore_errors=True)


class KillableArcade(ArcadeBolt):
    """A server of one test module's own (never the session's), which the test may kill as
    a crash would (SIGKILL: the JVM gets no chance to close its files) and start again on the
    same files and ports, so that clients reconnect to the address they knew."""

    def kill(self) -> None:
        self.process.kill()  # SIGKILL
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()

    def restart(self) -> None:
        """Starts the server again on the data it had when it was killed."""
        self.process = self._launch()


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

    def release(self, url: str) -> None:
        pass  # the next test empties the one database

    def stop(self) -> None:
        pass


def start(heap: str = "512m") -> BoltServer:
    """The Neo4j of NEO4J_URI, or ArcadeDB's Bolt server in a child process with `heap`."""
    uri = os.environ.get("NEO4J_URI")
    return ExternalNeo4j(uri) if uri else ArcadeBolt(heap=heap)


def session_server() -> Iterator[BoltServer]:
    server = start()
    try:
        yield server
    finally:
        server.stop()
