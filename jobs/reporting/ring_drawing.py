"""A ring drawn the way an investigator reads it: its accounts, what links them, and what was cut.

One drawing for the daily report and the ring case pages (accounts and their links) and for
notebooks/03_ring_investigation (the same, plus the identifiers behind the links and the hub
identifiers the linkage ignored), so every page shows a ring the same way. Inputs are small
Python lists collected from one ring's rows, never a table.

Legible at any ring size (a spring layout with seller ids and signal names written on the picture
was unreadable past a dozen accounts: labels piled on each other):
- the accounts sit on a circle, numbered 1..n in the order given; the page beside the picture
  lists what each number is (`member_numbers`), so no long id is written on the drawing;
- a link's colour is its strongest signal (the order of `SIGNALS`, linkage.type_weights'
  ranking), its width the number of signal types it carries, and a legend names the colours;
- the picture grows with the ring, so the numbers keep their room; past `max_members` accounts
  only the first `max_members` are drawn and the title says how many are left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

SELLER_COLOUR, IDENTIFIER_COLOUR, HUB_COLOUR = "#d9534f", "#5b8fd9", "#b0b0b0"

# Signal types, strongest evidence first (the ranking of linkage.type_weights), and their colours.
SIGNALS = (
    "id_doc",
    "payment",
    "bank",
    "phone",
    "payee",
    "return_address",
    "device",
    "wifi",
    "image",
    "ship_origin",
    "ip",
)
# Eleven colours told apart on screen and in print, none the accounts' red.
_COLOURS = dict(
    zip(
        SIGNALS,
        (
            "#1f77b4",
            "#ff7f0e",
            "#2ca02c",
            "#9467bd",
            "#8c564b",
            "#e377c2",
            "#17becf",
            "#bcbd22",
            "#7f7f7f",
            "#aec7e8",
            "#98df8a",
        ),
        strict=True,
    )
)
_OTHER = "#444444"  # a signal type this module does not know yet

# (src_seller_id, dst_seller_id, signal_types): one row of graph.linkage_edges
Link = tuple[str, str, Sequence[str]]
# (seller_id, identifier_type, label): a member uses this identifier (label: what to print)
Use = tuple[str, str, str]

MAX_MEMBERS = 60  # linkage.max_ring_size splits larger components; a margin above it


def member_numbers(members: Sequence[str], *, max_members: int = MAX_MEMBERS) -> dict[str, int]:
    """The number each drawn account carries on the picture: 1.. in the order given."""
    return {seller: number for number, seller in enumerate(members[:max_members], start=1)}


def strongest_signal(signals: Sequence[str]) -> str:
    """The signal type a link is coloured by: the strongest kind of evidence it carries."""
    known = [s for s in SIGNALS if s in signals]
    return known[0] if known else (sorted(signals)[0] if signals else "")


def ring_figure(
    members: Sequence[str],
    links: Sequence[Link],
    *,
    identifiers: Sequence[Use] = (),
    hubs: Sequence[Use] = (),
    figsize: tuple[float, float] | None = None,
    max_members: int = MAX_MEMBERS,
) -> Figure:
    """The ring as a graph: numbered accounts (red) on a circle, joined by their links.

    With `identifiers`, each shared identifier is a blue square inside the circle, joined to the
    members using it (the evidence behind the links); with `hubs`, each hub identifier a member
    used is a grey square outside it, on dashed edges: shared by too many sellers, it linked no
    one. Members are drawn in the order given (put the ones to show first), at most `max_members`.
    """
    numbers = member_numbers(members, max_members=max_members)
    drawn = list(numbers)
    side = 2.5 + 0.16 * len(drawn)
    fig, ax = plt.subplots(figsize=figsize or (min(12.0, max(4.0, side)),) * 2)
    # Accounts on the unit circle, the first at the top, clockwise.
    layout = {
        seller: (
            math.sin(2 * math.pi * i / len(drawn)),
            math.cos(2 * math.pi * i / len(drawn)),
        )
        for i, seller in enumerate(drawn)
    }
    graph = nx.Graph()
    graph.add_nodes_from(drawn)
    shown = [(s, d, sig) for s, d, sig in links if s in layout and d in layout and s != d]
    for src, dst, signals in shown:
        graph.add_edge(src, dst, colour=_COLOURS.get(strongest_signal(signals), _OTHER))
        graph.edges[src, dst]["width"] = 1.0 + 0.6 * (len(set(signals)) - 1)
    squares = _identifier_positions(layout, identifiers, radius=0.55)
    outside = _identifier_positions(layout, hubs, radius=1.3)
    for uses, positions, colour, style in (
        (identifiers, squares, IDENTIFIER_COLOUR, "solid"),
        (hubs, outside, HUB_COLOUR, "dashed"),
    ):
        edges = [(seller, f"{kind}:{label}") for seller, kind, label in uses if seller in layout]
        nx.draw_networkx_edges(
            nx.Graph(edges), {**layout, **positions}, ax=ax, style=style, edge_color=colour
        )
        nx.draw_networkx_nodes(
            nx.Graph(edges),
            positions,
            nodelist=list(positions),
            ax=ax,
            node_color=colour,
            node_size=60,
            node_shape="s",
        )
    if graph.number_of_edges():
        nx.draw_networkx_edges(
            graph,
            layout,
            ax=ax,
            edge_color=[c for _, _, c in graph.edges(data="colour")],
            width=[w for _, _, w in graph.edges(data="width")],
        )
    nx.draw_networkx_nodes(graph, layout, ax=ax, node_color=SELLER_COLOUR, node_size=220)
    nx.draw_networkx_labels(
        graph,
        layout,
        labels={seller: str(n) for seller, n in numbers.items()},
        ax=ax,
        font_size=7,
        font_color="white",
        font_weight="bold",
    )
    present = sorted(
        {strongest_signal(sig) for _, _, sig in shown},
        key=lambda s: SIGNALS.index(s) if s in SIGNALS else len(SIGNALS),
    )
    if present:
        ax.legend(
            handles=[Line2D([], [], color=_COLOURS.get(s, _OTHER), lw=2, label=s) for s in present],
            loc="upper center",
            bbox_to_anchor=(0.5, 0.04),
            ncol=min(4, len(present)),
            fontsize=7,
            frameon=False,
            title="strongest signal of the link",
            title_fontsize=7,
        )
    if len(drawn) < len(members):
        ax.set_title(f"{len(drawn)} of {len(members)} accounts drawn", fontsize=8)
    limit = 1.5 if hubs else 1.2
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


def _identifier_positions(
    layout: dict[str, tuple[float, float]], uses: Sequence[Use], *, radius: float
) -> dict[str, tuple[float, float]]:
    """Each identifier at the mean angle of the members using it, on a circle of `radius`."""
    users: dict[str, list[str]] = {}
    for seller, kind, label in uses:
        if seller in layout:
            users.setdefault(f"{kind}:{label}", []).append(seller)
    positions = {}
    for key, sellers in sorted(users.items()):
        x = sum(layout[s][0] for s in sellers)
        y = sum(layout[s][1] for s in sellers)
        norm = math.hypot(x, y) or 1.0
        positions[key] = (radius * x / norm, radius * y / norm)
    return positions
