"""`make load-test`: wrk (a real load generator, not a Python client) against `dipevents serve` on a generated
50,000-event SQLite database, with stalled export readers mixed in.

The stalled readers (raw sockets with a 4 KiB receive buffer that request an NDJSON export and never read) are
opened first and held for the whole run; then wrk drives the normal requests (filtered lists, pages by actor and
topic, full text, one event by id, one actor) at 64 connections for 30 s. The report gives wrk's throughput and
latency percentiles, its responses by status class, and what the stalled readers were answered. The run fails
(exit 1) when any normal request got a 5xx, timed out (10 s) or failed at the socket.

    python bench/load_test.py [--events 50000] [--connections 64] [--seconds 30] [--stalled 24]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import POPULAR, RARE, SEARCH_WORD, TOPIC_WITH_CHILDREN, generate, sqlite_path
from bench.load import serve

SCRIPT = Path(__file__).with_name("wrk_mix.lua")
SEED = 42


def normal_paths(events: int) -> list[str]:
    """The requests wrk cycles through: what a frontend and a researcher's script send most."""
    ids = [f"/v1/events/ev-{n:07d}" for n in range(1, events, max(1, events // 7))]
    return [
        "/v1/events?start=2019&end=2020&limit=50",
        f"/v1/events?actor={POPULAR}&sort=-date",
        f"/v1/events?actor={RARE}",
        f"/v1/events?topic={TOPIC_WITH_CHILDREN}&limit=20",
        f"/v1/events?q={SEARCH_WORD}",
        "/v1/events?type=visit&start=2000-01&end=2000-06",
        f"/v1/actors/{POPULAR}",
        "/v1/events?limit=1",
        *ids,
    ]


def stalled_request(base: str, path: str, *, repeat: int = 1) -> socket.socket:
    """Send ``repeat`` pipelined GETs of ``path`` and read nothing: a 4 KiB receive buffer, so the server's sends
    block almost at once. (Also the stalled clients of tests/test_export_streaming.py.)"""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: identity\r\n\r\n".encode() * repeat)
    return sock


def status_of(sock: socket.socket) -> int:
    sock.settimeout(30)
    head = b""
    while b"\r\n" not in head:
        chunk = sock.recv(1024)
        if not chunk:
            return 0
        head += chunk
    return int(head.split()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--stalled", type=int, default=24, help="stalled export readers held during the run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    args = parser.parse_args(argv)
    wrk = shutil.which("wrk")
    if wrk is None:
        print("load-test: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    path = sqlite_path(args.events)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.events} events into {path} ...", flush=True)
        generate(f"sqlite:///{path}", args.events, seed=SEED, progress=False)
    url = f"sqlite:///{path}"

    # The server's own export bound (8, the default) stays: the stalled readers beyond it get 503 by design.
    with serve(url, LOG_LEVEL="WARNING", EXPORT_CONCURRENCY="8") as base:
        stalled = [stalled_request(base, "/v1/events/export.ndjson") for _ in range(args.stalled)]
        try:
            stalled_statuses = Counter(status_of(sock) for sock in stalled)
            time.sleep(1)  # the admitted exports fill their socket buffers and block
            env = dict(os.environ, LOAD_PATHS="\n".join(normal_paths(args.events)))
            command = [
                wrk,
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{args.seconds}s",
                "--timeout",
                "10s",
                "-s",
                str(SCRIPT),
                base,
            ]
            output = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
        finally:
            for sock in stalled:
                sock.close()
    line = next(line for line in output.splitlines() if line.startswith("WRK_RESULT "))
    result = json.loads(line.removeprefix("WRK_RESULT "))
    statuses = result["statuses"]
    seconds = result["duration_us"] / 1e6
    print(f"\nwrk {args.connections} connections, {args.seconds} s, {args.events} events (SQLite, one worker),")
    print(f"{args.stalled} stalled NDJSON export readers held throughout\n")
    print("| requests | req/s | p50 ms | p90 ms | p99 ms | max ms | 2xx | 4xx | 5xx | timeouts | socket errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {result['requests']} | {result['requests'] / seconds:.0f} | {result['p50_us'] / 1000:.1f} | "
        f"{result['p90_us'] / 1000:.1f} | {result['p99_us'] / 1000:.1f} | {result['max_us'] / 1000:.1f} | "
        f"{statuses.get('2xx', 0)} | {statuses.get('4xx', 0)} | {statuses.get('5xx', 0)} | {result['timeouts']} | "
        f"{result['socket_errors']} |"
    )
    print(f"\nstalled export readers were answered: {dict(sorted(stalled_statuses.items()))}")
    print("(200: admitted, then abandoned after the send timeout; 503: over EXPORT_CONCURRENCY, with Retry-After)")
    failed = statuses.get("5xx", 0) or result["timeouts"] or result["socket_errors"] or statuses.get("4xx", 0)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
