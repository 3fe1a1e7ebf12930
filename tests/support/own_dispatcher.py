"""A traced dispatcher of a test's own, in a process of its own, on a signals topic and
consumer group of the test's own (the platform's database, Redis and DLQ): with `--bug TICKER`
its dispatch fails for that ticker (a bug, not an outage: the signal is parked); without, it
is the bug fixed. It runs until the dispatcher has handled `--until` messages.

`python -m tests.support.own_dispatcher --topic T --group G --until N [--bug TICKER]`, in
the platform's environment; tests call `run_own_dispatcher`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from tradetrace.stack.paths import REPO_ROOT


def run_own_dispatcher(env: dict[str, str], topic: str, group: str, until: int,
                       bug: str | None = None, timeout: float = 90) -> None:
    argv = [sys.executable, "-m", "tests.support.own_dispatcher", "--topic", topic, "--group",
            group, "--until", str(until), *(["--bug", bug] if bug else [])]
    done = subprocess.run(argv, env={**os.environ, **env}, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--until", type=int, required=True)
    parser.add_argument("--bug")
    args = parser.parse_args()

    from services.shared.clients import redis_client
    from services.shared.settings import Settings
    from services.shared.topics import ensure_topics
    from services.trigger_dispatcher.dispatcher import Dispatcher
    from services.trigger_dispatcher.dlq import create_dlq_producer
    from services.trigger_dispatcher.index import load_index
    from services.trigger_dispatcher.offsets import create_consumer
    from tracing import setup_tracing, shutdown_tracing
    from tracing.service_names import TRIGGER_DISPATCHER

    provider = setup_tracing(TRIGGER_DISPATCHER)
    settings = Settings(signals_topic=args.topic, consumer_group=args.group)
    ensure_topics(settings)
    consumer = create_consumer(settings)
    consumer.subscribe([settings.signals_topic])
    dispatcher = Dispatcher(settings, consumer, create_dlq_producer(settings),
                            redis_client(settings))
    dispatcher.use_index(load_index(settings.database_url))
    if args.bug:
        healthy = dispatcher._dispatch

        def dispatch_with_a_bug(flights):  # type: ignore[no-untyped-def]
            if any(flight.signal.ticker == args.bug for flight in flights):
                raise ValueError(f"a bug reached by {args.bug}")
            healthy(flights)

        dispatcher._dispatch = dispatch_with_a_bug  # type: ignore[method-assign]
    handled, deadline = 0, time.monotonic() + 60
    try:
        while handled < args.until:
            if time.monotonic() > deadline:
                raise SystemExit(f"handled {handled} of {args.until} messages in 60 s")
            handled += dispatcher.run_once()
    finally:
        consumer.close()
        shutdown_tracing(provider)


if __name__ == "__main__":
    main()
