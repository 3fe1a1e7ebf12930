"""The service graph (the collector's servicegraph connector: client → server edges with their
request rates, Kafka and Celery hops included) laid out in columns for an SVG picture.

A node's column is the length of the longest path that reaches it, so the flow reads left to
right: generator, dispatcher, worker, then the stores they call.
"""

from __future__ import annotations

from dataclasses import dataclass

NODE_WIDTH, NODE_HEIGHT, COLUMN_GAP, ROW_GAP, MARGIN = 150, 34, 90, 22, 10
MAX_EDGES = 24                   # the busiest; a picture of more says nothing


@dataclass(frozen=True)
class Edge:
    client: str
    server: str
    kind: str                    # connection_type: "" (RPC), messaging_system, database, ...
    per_second: float


@dataclass(frozen=True)
class PlacedNode:
    name: str
    x: float
    y: float


@dataclass(frozen=True)
class PlacedEdge:
    edge: Edge
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def label(self) -> str:
        via = {"messaging_system": "messages", "database": "queries"}.get(self.edge.kind,
                                                                         "requests")
        return f"{self.edge.per_second:.2f} {via}/s"


@dataclass
class Picture:
    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: float
    height: float
    node_width: int = NODE_WIDTH
    node_height: int = NODE_HEIGHT


def layout(edges: list[Edge]) -> Picture:
    edges = sorted(edges, key=lambda e: -e.per_second)[:MAX_EDGES]
    names = sorted({e.client for e in edges} | {e.server for e in edges})
    column = {name: 0 for name in names}
    for _ in names:              # longest path, relaxed at most once per node (cycles stop)
        changed = False
        for edge in edges:
            if edge.client != edge.server and column[edge.server] < column[edge.client] + 1:
                column[edge.server] = min(column[edge.client] + 1, len(names))
                changed = True
        if not changed:
            break
    rows: dict[int, list[str]] = {}
    for name in names:
        rows.setdefault(column[name], []).append(name)
    at = {}
    for col, members in rows.items():
        for row, name in enumerate(members):
            at[name] = PlacedNode(name, MARGIN + col * (NODE_WIDTH + COLUMN_GAP),
                                  MARGIN + row * (NODE_HEIGHT + ROW_GAP))
    placed = [PlacedEdge(e, at[e.client].x + NODE_WIDTH, at[e.client].y + NODE_HEIGHT / 2,
                         at[e.server].x, at[e.server].y + NODE_HEIGHT / 2)
              for e in edges if e.client != e.server]
    width = MARGIN * 2 + (max(rows, default=0) + 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    height = MARGIN * 2 + max((len(m) for m in rows.values()), default=0) * (
        NODE_HEIGHT + ROW_GAP)
    return Picture(list(at.values()), placed, width, height)
