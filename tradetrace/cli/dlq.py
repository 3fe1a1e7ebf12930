"""`tradetrace dlq`: the dead-letter queue's entries (why each was parked, where from, its
trace) and sending one back to its source once its cause is fixed
(services/shared/redrive.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from tradetrace.cli.context import settings
from tradetrace.cli.output import AsJson, console, print_json, reported
from tradetrace.errors import CliError, PlatformError

if TYPE_CHECKING:
    import redis

    from services.shared.dead_letters import Parked
    from services.shared.redrive import Redriven

app = typer.Typer(help="The dead-letter queue: list, show and redrive parked messages.",
                  no_args_is_help=True)

EntryId = Annotated[str, typer.Argument(help="PARTITION:OFFSET of the entry in the DLQ.")]
SINCE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _redis() -> redis.Redis:
    from services.shared.clients import redis_client

    return redis_client(settings())


def _entry_id(text: str) -> tuple[int, int]:
    partition, _, offset = text.partition(":")
    if not (partition.isdigit() and offset.isdigit()):
        raise CliError(f"a DLQ entry is PARTITION:OFFSET (as `dlq list` shows), not {text!r}")
    return int(partition), int(offset)


def _since(text: str | None) -> datetime | None:
    """`30m`, `6h`, `7d`: that long ago."""
    if text is None:
        return None
    number, unit = text[:-1], text[-1:]
    if unit not in SINCE_UNITS or not number.isdigit():
        raise CliError(f"--since is a number and one of {'/'.join(SINCE_UNITS)} (e.g. 6h), "
                       f"not {text!r}")
    return datetime.now(UTC) - timedelta(seconds=int(number) * SINCE_UNITS[unit])


@app.command("list")
def dlq_list(
    reason: Annotated[str | None, typer.Option(help="Part of a reason, e.g. dispatch.")] = None,
    ticker: Annotated[str | None, typer.Option(help="The parked signal's ticker.")] = None,
    since: Annotated[str | None, typer.Option(help="Parked within, e.g. 30m, 6h, 7d.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    as_json: AsJson = False,
) -> None:
    """The DLQ's entries, newest first: when, why, where from, the signal and its trace."""
    from services.shared.redrive import read_parked

    with reported():
        current = settings()
        entries = read_parked(current, _redis(), reason=reason, ticker=ticker,
                              since=_since(since), limit=limit)
    if as_json:
        print_json([e.summary() for e in entries])
        return
    table = Table("entry", "parked", "reason", "source", "ticker", "trace", "redriven",
                  box=None)
    for e in entries:
        table.add_row(e.id, e.parked_at.strftime("%Y-%m-%d %H:%M:%S"),
                      " <- ".join(reversed(e.reasons)),
                      f"{e.source_topic}/{e.source_partition}:{e.source_offset}",
                      e.ticker or "-", e.trace_id or "-", e.redriven_at or "-")
    console.print(table)
    console.print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} in "
                  f"{current.dlq_topic}")


@app.command("show")
def dlq_show(entry: EntryId, as_json: AsJson = False) -> None:
    """One entry whole: its reasons, source, headers and value."""
    from services.shared.redrive import NotParked, find_parked

    with reported():
        try:
            found = find_parked(settings(), _redis(), *_entry_id(entry))
        except NotParked as missing:
            raise CliError(str(missing)) from None
    detail = found.detail()
    if as_json:
        print_json(detail)
        return
    for name in ("id", "parked_at", "reasons", "source", "note", "ticker", "signal_id",
                 "trace_id", "redriven_at", "key"):
        console.print(f"{name}: {detail[name]}")
    for name, value in detail["headers"]:
        console.print(f"header {name}: {value}")
    console.print(f"value: {detail['value']}")


def _already(sent: list[tuple[Parked, Redriven]]) -> str:
    return f" (sent before it: {', '.join(found.id for found, _ in sent)})" if sent else ""


@app.command("redrive")
def dlq_redrive(entries: Annotated[list[str], typer.Argument(help="PARTITION:OFFSET ...")],
                as_json: AsJson = False) -> None:
    """Send entries back to their source topic, each once; the dispatcher handles them as
    new (a signal that did run is not run again). Fix the cause first: one that fails again
    is parked again, with both reasons."""
    from services.shared.redrive import AlreadyRedriven, NotParked, find_parked, redrive
    from tracing import setup_tracing, shutdown_tracing
    from tracing.service_names import CLI

    wanted = [_entry_id(e) for e in entries]
    sent: list[tuple[Parked, Redriven]] = []
    with reported():
        current, client = settings(), _redis()
        provider = setup_tracing(CLI)         # the redrive's span, in the signal's trace
        try:
            for partition, offset in wanted:
                try:
                    found = find_parked(current, client, partition, offset)
                    sent.append((found, redrive(current, client, found)))
                except (NotParked, AlreadyRedriven) as refused:
                    raise CliError(f"{refused}{_already(sent)}") from None
                except Exception as error:  # noqa: BLE001 - Kafka's, said in one line
                    raise PlatformError(f"redriving {partition}:{offset} failed: "
                                        f"{error}{_already(sent)}") from error
        finally:
            shutdown_tracing(provider)
    if as_json:
        print_json([{"entry": found.id, "sent": out.as_dict()} for found, out in sent])
        return
    for found, out in sent:
        console.print(f"{found.id} ({found.reason}) -> {out.topic}/{out.partition}:"
                      f"{out.offset}, trace {out.trace_id or '-'}")
