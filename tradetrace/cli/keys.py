"""`tradetrace keys`: the backend's API keys (read, or write: read and change)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from tradetrace.cli.context import database
from tradetrace.cli.output import AsJson, console, print_json, reported
from tradetrace.errors import CliError

app = typer.Typer(help="API keys of the backend (read, or write: read and change).",
                  no_args_is_help=True)


@app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="read, or write (read and change).")] = "read",
    name: Annotated[str, typer.Option(help="Who or what uses it.")] = "cli",
) -> None:
    """Create a key; it is printed once (only its hash is kept)."""
    from services.shared.api_keys import create_key
    from services.shared.db import ApiRole

    with reported():
        try:
            chosen = ApiRole(role)
        except ValueError:
            raise CliError(f"--role must be read or write, not {role!r}") from None
        with database() as session:
            row, key = create_key(session, chosen, name)
            key_id = row.id
        console.print(f"key {key_id} ({chosen.value}, {name}); shown once, keep it:")
        print(key)
        console.print("use it: [bold]export TRADETRACE_API_KEY=<key>[/], or send "
                      "`Authorization: Bearer <key>`")


@app.command("list")
def keys_list(as_json: AsJson = False) -> None:
    """Every key: id, name, role, prefix, created, revoked (never the key)."""
    from services.shared.api_keys import list_keys

    with reported(), database() as session:
        rows: list[dict[str, Any]] = [
            {"id": k.id, "name": k.name, "role": k.role.value, "prefix": k.prefix,
             "created_at": k.created_at.isoformat(),
             "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
            for k in list_keys(session)]
    if as_json:
        print_json(rows)
        return
    table = Table("id", "name", "role", "prefix", "created", "revoked", box=None)
    for row in rows:
        table.add_row(str(row["id"]), row["name"], row["role"], f"{row['prefix']}...",
                      row["created_at"][:19], (row["revoked_at"] or "")[:19])
    console.print(table)


@app.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(help="The key's id (keys list).")]) -> None:
    """Revoke a key: the next request with it gets a 401."""
    from services.shared.api_keys import revoke_key

    with reported(), database() as session:
        if revoke_key(session, key_id) is None:
            raise CliError(f"no key {key_id}")
    console.print(f"key {key_id} revoked")
