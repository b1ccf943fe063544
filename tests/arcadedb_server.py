"""Runs ArcadeDB with its Bolt plugin in a process of its own, for tests and benchmarks.

    python -m tests.arcadedb_server ROOT BOLT_PORT HTTP_PORT HEAP

Prints `ready` once it listens, and stops when its standard input closes. The JVM lives in
this process, not in the test runner's: a JVM embedded through JPype can crash while the
interpreter shuts down, and that must not decide the test run's exit status.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

LOGGING = Path(__file__).with_name("arcadedb-logging.properties")
PASSWORD = "lineage-test-password"  # ArcadeDB wants eight characters or more


def main() -> None:
    from arcadedb_embedded.server import ArcadeDBServer

    root, bolt_port, http_port, heap = sys.argv[1:5]
    server = ArcadeDBServer(
        root_path=root,
        root_password=PASSWORD,
        config={
            "host": "127.0.0.1",
            "http_port": int(http_port),
            "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "bolt_port": int(bolt_port),
        },
        jvm_kwargs={"heap_size": heap, "jvm_args": [f"-Djava.util.logging.config.file={LOGGING}"]},
    )
    server.start()
    print("ready", flush=True)
    sys.stdin.read()
    server.stop()
    sys.stdout.flush()
    # Skip the interpreter's shutdown, where the embedded JVM may crash; the server is stopped.
    os._exit(0)


if __name__ == "__main__":
    main()
