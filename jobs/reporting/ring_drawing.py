"""A ring drawn the way an investigator reads it: its accounts, what links them, and what was cut.

One drawing for the daily report (accounts and their links, labelled with the signal types) and
for notebooks/03_ring_investigation (the same, plus the identifiers behind the links and the hub
identifiers the linkage ignored), so both show a ring the same way. Inputs are small Python
lists collected from one ring's rows, never a table.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.figure import Figure

SELLER_COLOUR, IDENTIFIER_COLOUR, HUB_COLOUR = "#d9534f", "#5b8fd9", "#b0b0b0"

# (src_seller_id, dst_seller_id, signal_types): one row of graph.linkage_edges
Link = tuple[str, str, Sequence[str]]
# (seller_id, identifier_type, label): a member uses this identifier (label: what to print)
Use = tuple[str, str, str]


def ring_figure(
    members: Sequence[str],
    links: Sequence[Link],
    *,
    identifiers: Sequence[Use] = (),
    hubs: Sequence[Use] = (),
    figsize: tuple[float, float] = (4, 3),
) -> Figure:
    """The ring as a graph: members (red) joined by their links, labelled with the signal types.

    With `identifiers`, each shared identifier is a blue node joined to the members using it
    (the evidence behind the links, which then carry no label); with `hubs`, each hub identifier
    a member used is a grey node on dashed edges: shared by too many sellers, it linked no one.
    """
    graph = nx.Graph()
    graph.add_nodes_from(members, kind="seller")
    for src, dst, signals in links:
        graph.add_edge(src, dst, kind="link", label=",".join(signals))
    for kind, uses in (("identifier", identifiers), ("hub", hubs)):
        for seller, identifier_type, label in uses:
            node = f"{identifier_type}:{label}"
            graph.add_node(node, kind=kind)
            graph.add_edge(seller, node, kind=kind)
    fig, ax = plt.subplots(figsize=figsize)
    layout = nx.spring_layout(graph, seed=1)
    _draw_nodes(graph, layout, ax)
    for kind, style, colour in (
        ("link", "solid", "black"),
        ("identifier", "solid", IDENTIFIER_COLOUR),
        ("hub", "dashed", HUB_COLOUR),
    ):
        edges = [(u, v) for u, v, k in graph.edges(data="kind") if k == kind]
        nx.draw_networkx_edges(graph, layout, edgelist=edges, ax=ax, style=style, edge_color=colour)
    if not identifiers:
        labels = {(u, v): label for u, v, label in graph.edges(data="label") if label}
        nx.draw_networkx_edge_labels(graph, layout, ax=ax, edge_labels=labels, font_size=5)
    ax.set_axis_off()
    return fig


def _draw_nodes(graph: nx.Graph, layout: dict, ax: plt.Axes) -> None:
    for kind, colour, size, shape in (
        ("seller", SELLER_COLOUR, 300, "o"),
        ("identifier", IDENTIFIER_COLOUR, 120, "s"),
        ("hub", HUB_COLOUR, 120, "s"),
    ):
        nodes = [n for n, k in graph.nodes(data="kind") if k == kind]
        nx.draw_networkx_nodes(
            graph,
            layout,
            nodelist=nodes,
            ax=ax,
            node_color=colour,
            node_size=size,
            node_shape=shape,
        )
        # Seller ids and identifier digests are long: their first characters tell them apart.
        short = 7 if kind == "seller" else 24
        labels = {n: n[:short] for n in nodes}
        nx.draw_networkx_labels(graph, layout, labels=labels, ax=ax, font_size=6)
