"""``alicloud-emulator serve``: run the emulator as a process."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sqlite3
import sys
from pathlib import Path

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
    serve.add_argument("--db", help="SQLite file for durable state (default: in memory)")
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
        print(f"alicloud-emulator: {where}{e}", file=sys.stderr)
        return 2
    try:
        server = make_server(args.db, world, args.host, args.port, not args.no_verify_signatures, args.reset)
    except (OSError, RuntimeError, sqlite3.Error) as e:  # port taken, unreadable or newer database
        print(f"alicloud-emulator: cannot serve: {e}", file=sys.stderr)
        return 1
    app = server.app
    signal.signal(signal.SIGTERM, _stop)  # before the port file: whoever reads it may stop us at once
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(str(server.server_address[1]))
        os.replace(tmp, args.port_file)  # readers never see a half-written file
    accounts = ", ".join(f"{a.name} ({a.uid})" for a in app.emulator.accounts)
    print(
        f"alicloud-emulator listening on {server.url} | db: {args.db or ':memory:'} | "
        f"signatures: {'off' if args.no_verify_signatures else 'enforced'} | accounts: {accounts}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.store.close()
    return 0


def _stop(signum: int, frame: object) -> None:
    """SIGTERM ends ``serve_forever`` like Ctrl-C, so the database is closed cleanly."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
