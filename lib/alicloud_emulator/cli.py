"""``alicloud-emulator serve``: run the emulator as a process.

Exit codes: 0 after a clean stop (SIGTERM or SIGINT), 1 when it cannot serve (the port is taken,
the database is unreadable, newer or damaged), 2 when the world file is refused (each bad field on
its own line, never a secret's value).

SIGTERM and SIGINT are blocked in every thread and the main thread waits for them with
``sigwait``, then stops the server and closes the database. No Python code runs in a signal
handler: one that raised (``KeyboardInterrupt``) could land anywhere in the main thread, inside a
weakref callback for instance, where it is swallowed and the process never stops; one that took a
lock could deadlock against the code it interrupted.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sqlite3
import sys
import threading

from .safe_files import write_private
from .world import WorldError, default_world, load_world_file, validate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="alicloud-emulator", description="A local emulator of the Alibaba Cloud VPC, ECS and STS APIs."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the APIs and the /_emulator/ control API on one port")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    serve.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    serve.add_argument("--port-file", help="write the chosen port to this file once listening")
    serve.add_argument("--db", help="SQLite file for durable state, created mode 0600 (default: in memory)")
    serve.add_argument("--world", help="world YAML file (default: the built-in tutorial world)")
    serve.add_argument("--reset", action="store_true", help="load the world even if --db already holds state")
    serve.add_argument(
        "--no-verify-signatures", action="store_true", help="accept any signature (keys must still exist)"
    )
    serve.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")

    from .server import make_server

    try:
        world = load_world_file(args.world) if args.world else default_world()
        validate(world)
    except WorldError as e:
        if not args.world:
            where = "built-in world: "
        else:
            where = "world file " if str(e).startswith(args.world) else f"world file {args.world}: "
        for line in str(e).splitlines():
            print(f"alicloud-emulator: {where}{line}", file=sys.stderr)
        return 2
    stopping = {signal.SIGTERM, signal.SIGINT}
    # before any thread starts (they inherit the mask) and before the port file (whoever reads it
    # may stop us at once: the signal then waits, pending, for sigwait)
    signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    try:
        server = make_server(args.db, world, args.host, args.port, not args.no_verify_signatures, args.reset)
    except (OSError, RuntimeError, sqlite3.Error) as e:  # port taken, unreadable, newer or damaged database
        print(f"alicloud-emulator: cannot serve: {e}", file=sys.stderr)
        return 1
    app = server.app
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="serve")
    serving.start()
    try:
        if args.port_file:
            write_private(args.port_file, str(server.server_address[1]))  # readers never see half of it
        accounts = ", ".join(f"{a.name} ({a.uid})" for a in app.emulator.accounts)
        print(
            f"alicloud-emulator listening on {server.url} | db: {args.db or ':memory:'} | "
            f"signatures: {'off' if args.no_verify_signatures else 'enforced'} | accounts: {accounts}",
            flush=True,
        )
        signal.sigwait(stopping)
    finally:
        server.shutdown()
        serving.join()
        server.server_close()
        app.store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
