"""How long the explorer's funnel takes to count a window, in one process as the backend
counts it on each page load: the first count (new Kafka clients) and the ones after it.

Run from a tree's root against the stack of `make run` (the CLI's settings), with the window
holding the signals to count, e.g. 10,000 of one ticker published beforehand:
`python benchmarks/funnel_count.py TICKER --counts 4`. Prints one JSON line: the ms of each
count and the messages counted. Two trees are compared by running it from each, alternately.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta

from services.backend.explorer.funnel import build
from services.shared.clients import redis_client
from services.shared.db import session_scope, utcnow
from tradetrace.cli.context import settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ticker")
    parser.add_argument("--counts", type=int, default=4)
    parser.add_argument("--window-hours", type=float, default=1.0)
    args = parser.parse_args()
    current = settings()
    client = redis_client(current)
    took, counted = [], 0
    for _ in range(args.counts):
        with session_scope(current.database_url) as session:
            started = time.perf_counter()
            view = build(current, client, session,
                         utcnow() - timedelta(hours=args.window_hours), args.ticker)
            took.append(round((time.perf_counter() - started) * 1000, 1))
        counted = view.steps[0].count
    print(json.dumps({"ms": took, "messages": counted}))


if __name__ == "__main__":
    main()
