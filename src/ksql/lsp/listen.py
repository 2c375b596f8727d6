"""``ksql lsp``: where the language server listens (stdio, or a loopback TCP port)."""

from __future__ import annotations

import argparse

from ksql.errors import KsqlError


def run(args: argparse.Namespace) -> int:
    """``ksql lsp``: serve on stdio, or on a TCP port."""
    import logging

    from ksql.lsp.server import make_server

    address = tcp_address(args.tcp, allow_remote=args.allow_remote) if args.tcp else None
    if args.log_file:
        logging.basicConfig(filename=args.log_file, level=logging.INFO)
    server = make_server(args.source)
    if address is not None:
        server.start_tcp(*address)
    else:
        server.start_io()
    return server.exit_code


def tcp_address(text: str, *, allow_remote: bool) -> tuple[str, int]:
    """``[HOST:]PORT`` as (host, port); a host that is not loopback only when allowed."""
    import ipaddress

    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"  # [::1]:2087
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise KsqlError(f"--tcp {text}: expected [HOST:]PORT")
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: where it points is not ours to vouch for
        loopback = False
    if not loopback and not allow_remote:
        raise KsqlError(
            f"--tcp {text}: {host} is not a loopback address; anyone who can reach it could"
            " use the server (add --allow-remote if that is what you want)"
        )
    return host, int(port)
