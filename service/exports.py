"""A lineage view (service.views) written as GraphML, DOT, Mermaid or JSON, for other tools.
Each holds what its reader may see and nothing more: a placeholder stays a placeholder.
Every text from the graph is escaped for its format, so a title cannot break out of it."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from enum import Enum

from service.views import CITATION_LABEL, LineageView, ViewNode


class ExportFormat(Enum):
    GRAPHML = "GRAPHML"
    DOT = "DOT"
    MERMAID = "MERMAID"
    JSON = "JSON"

    @property
    def media_type(self) -> str:
        return _MEDIA[self][0]

    @property
    def suffix(self) -> str:
        return _MEDIA[self][1]


_MEDIA = {
    ExportFormat.GRAPHML: ("application/graphml+xml", ".graphml"),
    ExportFormat.DOT: ("text/vnd.graphviz", ".dot"),
    ExportFormat.MERMAID: ("text/vnd.mermaid", ".mmd"),
    ExportFormat.JSON: ("application/json", ".json"),
}

# GraphML keys: (id, for, attr.name, attr.type, the node's or edge's value).
_NODE_KEYS: list[tuple[str, str, Callable[[ViewNode], object]]] = [
    ("title", "string", lambda n: n.title),
    ("documentNumber", "string", lambda n: n.document_number),
    ("marking", "string", lambda n: n.marking or ""),
    ("level", "string", lambda n: n.level or ""),
    ("status", "string", lambda n: n.status or ""),
    ("organisationId", "string", lambda n: n.organisation_id or ""),
    ("redacted", "boolean", lambda n: "true" if n.redacted else "false"),
    ("openNotices", "int", lambda n: n.open_notices),
    ("layer", "int", lambda n: n.layer),
    ("x", "double", lambda n: n.x),
]


def render(view: LineageView, format: ExportFormat) -> str:
    match format:
        case ExportFormat.GRAPHML:
            return graphml(view)
        case ExportFormat.DOT:
            return dot(view)
        case ExportFormat.MERMAID:
            return mermaid(view)
        case ExportFormat.JSON:
            return json.dumps(view.as_json(), ensure_ascii=False, indent=2) + "\n"


def graphml(view: LineageView) -> str:
    root = ET.Element("graphml", xmlns="http://graphml.graphdrawing.org/xmlns")
    for name, kind, _ in _NODE_KEYS:
        ET.SubElement(
            root, "key", {"id": name, "for": "node", "attr.name": name, "attr.type": kind}
        )
    for name in ("kind", "case", "keypointIds"):
        ET.SubElement(
            root, "key", {"id": name, "for": "edge", "attr.name": name, "attr.type": "string"}
        )
    graph = ET.SubElement(root, "graph", id=view.root, edgedefault="directed")
    for node in view.nodes:
        element = ET.SubElement(graph, "node", id=node.id)
        for name, _, value in _NODE_KEYS:
            ET.SubElement(element, "data", key=name).text = str(value(node))
    for i, edge in enumerate(view.edges):
        # From the parent to the derived item, as the drawing reads.
        element = ET.SubElement(
            graph, "edge", id=f"e{i}", source=edge.parent_id, target=edge.child_id
        )
        ET.SubElement(element, "data", key="kind").text = "DERIVED_FROM"
        ET.SubElement(element, "data", key="case").text = edge.case
        ET.SubElement(element, "data", key="keypointIds").text = " ".join(edge.keypoint_ids)
    for i, citation in enumerate(view.citations):
        # From the cited item to the one citing it, as a derivation is drawn: no basis (D-14).
        element = ET.SubElement(
            graph, "edge", id=f"c{i}", source=citation.cited_id, target=citation.item_id
        )
        ET.SubElement(element, "data", key="kind").text = "CITES"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _label(node: ViewNode) -> str:
    if node.redacted:
        return node.title
    return f"{node.title}\n{node.marking or node.status_label or ''}"


def _dot_text(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


_FILL = {"TOP_SECRET": "#f4b6b6", "SECRET": "#f8d3a8", "CONFIDENTIAL": "#fbeeb0"}


def dot(view: LineageView) -> str:
    lines = [f"digraph {_dot_text('lineage ' + view.root)} {{", "  rankdir=TB;"]
    lines.append('  node [shape=box, style="rounded,filled", fillcolor="#ffffff"];')
    for node in view.nodes:
        fill = "#dddddd" if node.redacted else _FILL.get(node.level or "", "#e8f0e8")
        lines.append(
            f'  {_dot_text(node.id)} [label={_dot_text(_label(node))}, fillcolor="{fill}"];'
        )
    for edge in view.edges:
        lines.append(
            f"  {_dot_text(edge.parent_id)} -> {_dot_text(edge.child_id)} "
            f"[label={_dot_text(edge.case_label)}];"
        )
    for citation in view.citations:
        lines.append(
            f"  {_dot_text(citation.cited_id)} -> {_dot_text(citation.item_id)} "
            f"[label={_dot_text(CITATION_LABEL)}, style=dotted];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid has no escape for every character: quotes, brackets and line breaks become
    # its entity codes, everything else is kept inside a quoted label.
    out = re.sub(r'["#<>\[\]{}()|`]', lambda m: f"#{ord(m.group(0))};", text)
    return '"' + out.replace("\n", "<br/>") + '"'


def mermaid(view: LineageView) -> str:
    names = {node.id: f"n{i}" for i, node in enumerate(view.nodes)}  # ids are not Mermaid's
    lines = ["flowchart TD"]
    for node in view.nodes:
        lines.append(f"  {names[node.id]}[{_mermaid_text(_label(node))}]")
    for edge in view.edges:
        lines.append(
            f"  {names[edge.parent_id]} -->|{_mermaid_text(edge.case_label)}| "
            f"{names[edge.child_id]}"
        )
    for citation in view.citations:
        lines.append(
            f"  {names[citation.cited_id]} -.->|{_mermaid_text(CITATION_LABEL)}| "
            f"{names[citation.item_id]}"
        )
    for level in ("TOP_SECRET", "SECRET", "CONFIDENTIAL"):
        members = [names[n.id] for n in view.nodes if n.level == level and not n.redacted]
        if members:
            lines.append(f"  classDef {level.lower()} fill:{_FILL[level]}")
            lines.append(f"  class {','.join(members)} {level.lower()}")
    hidden = [names[n.id] for n in view.nodes if n.redacted]
    if hidden:
        lines.append("  classDef redacted fill:#dddddd,stroke-dasharray:4")
        lines.append(f"  class {','.join(hidden)} redacted")
    return "\n".join(lines) + "\n"
