"""A lineage laid out for drawing (`lineageGraph`) and exported (`lineageExport`, `lineage
export-lineage`) on both stores (issue 6): layers with parents above, marking, status and open
notices per node, redaction as in `lineage`, and every format escaping what it carries."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from tests.e2e.conftest import Api, Gql

GRAPH = """
query($id: ID!, $direction: Direction! = BOTH) {
  lineageGraph(id: $id, direction: $direction) {
    __typename
    ... on LineageGraph { root nodeCount redacted data }
    ... on Problem { message }
  }
}"""
EXPORT = """
query($id: ID!, $format: ExportFormat!) {
  lineageExport(id: $id, format: $format) {
    __typename
    ... on LineageExport { format mediaType filename content }
    ... on Problem { message }
  }
}"""
DECLASSIFY = """
mutation { declassify(input: {itemId: "S-2024-012", handlerId: "p-zhang-wei",
  officialId: "p-li-qiang", reason: CIRCUMSTANCES_CHANGED, basis: "形势变化。"}) { __typename } }"""


def graph(gql: Gql, item_id: str, as_: str = "p-sun-hong", **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = gql(GRAPH, {"id": item_id, **variables}, as_=as_)["lineageGraph"]
    assert found["__typename"] == "LineageGraph", found
    return found


def test_a_lineage_is_laid_out_in_layers_with_what_each_node_needs(demo_gql: Gql) -> None:
    found = graph(demo_gql, "S-2024-012", direction="DOWNSTREAM")
    nodes = {n["id"]: n for n in found["data"]["nodes"]}
    assert found["nodeCount"] == len(nodes) == 10  # the source and its nine descendants
    assert found["redacted"] == 0
    source = nodes["S-2024-012"]
    assert (source["layer"], source["marking"], source["levelLabel"]) == (0, "机密★20年", "机密")
    for edge in found["data"]["edges"]:
        assert nodes[edge["parentId"]]["layer"] < nodes[edge["childId"]]["layer"], edge
    places = {(n["layer"], n["order"]) for n in nodes.values()}
    assert len(places) == len(nodes)
    assert {n["openNotices"] for n in nodes.values()} == {0}
    assert demo_gql(DECLASSIFY)["declassify"]["__typename"] == "ChangeCommitted"
    after = {n["id"]: n for n in graph(demo_gql, "S-2024-012")["data"]["nodes"]}
    assert after["S-2024-012"]["statusLabel"] == "已解密（作为工作秘密管理）"
    assert after["D-COUNTY-004"]["openNotices"] == 1
    assert after["D-INST-001"]["openNotices"] == 0  # it keeps its other basis (D-12)


def test_the_drawing_shows_a_reader_only_what_it_may_read(demo_gql: Gql) -> None:
    full = graph(demo_gql, "S-2024-012")
    ministry = graph(demo_gql, "S-2024-012", as_="p-li-qiang")
    assert ministry["nodeCount"] == full["nodeCount"]
    assert ministry["redacted"] == full["nodeCount"] - 1
    body = json.dumps(ministry, ensure_ascii=False)
    for node in full["data"]["nodes"]:
        if node["id"] != "S-2024-012":
            assert node["title"] not in body
            assert f'"{node["id"]}"' not in body
    hidden = [n for n in ministry["data"]["nodes"] if n["redacted"]]
    assert all(n["title"] == "（无权知悉）" and n["marking"] is None for n in hidden)
    assert all(n["openNotices"] == 0 and n["organisationId"] is None for n in hidden)
    outside = demo_gql(GRAPH, {"id": "D-PROV-001"}, as_="p-zhao-min")["lineageGraph"]
    assert outside["__typename"] == "NotFound"


@pytest.mark.parametrize("format", ["GRAPHML", "DOT", "MERMAID", "JSON"])
def test_each_export_holds_the_lineage_and_nothing_hidden(demo_gql: Gql, format: str) -> None:
    full = graph(demo_gql, "D-CITY-001")
    nodes = {n["id"]: n for n in full["data"]["nodes"]}
    exported = demo_gql(EXPORT, {"id": "D-CITY-001", "format": format}, as_="p-sun-hong")
    result = exported["lineageExport"]
    assert result["filename"].startswith("lineage-D-CITY-001")
    content = result["content"]
    for node in nodes.values():
        assert node["title"] in content
    if format == "GRAPHML":
        root = ET.fromstring(content.split("\n", 1)[1])  # noqa: S314 - what the service wrote
        ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
        assert {n.get("id") for n in root.iterfind(".//g:node", ns)} == set(nodes)
        assert len(root.findall(".//g:edge", ns)) == len(full["data"]["edges"])
    elif format == "JSON":
        assert json.loads(content) == full["data"]
    elif format == "DOT":
        assert content.startswith("digraph")
        assert content.count("->") == len(full["data"]["edges"])
    else:
        assert content.startswith("flowchart TD")
        assert content.count("-->") == len(full["data"]["edges"])
    county = demo_gql(EXPORT, {"id": "D-CITY-001", "format": format}, as_="p-zhao-min")
    text = county["lineageExport"]["content"]
    for title in ("某省贯彻落实", "关于某重点工程建设总体方案的通知"):
        assert title not in text
    # Whole ids only: the county's items involve keypoint S-2024-012.K1, which is theirs.
    for hidden in ("S-2024-012", "D-PROV-001"):
        assert not re.search(rf"(?<![\w.:-]){hidden}(?![\w.:-])", text), hidden


HOSTILE = 'A"]; B[x] -->|y| C{z} <b>&</b>\n\\" ``` %% ]] --> n0 #x; }'


def test_titles_cannot_break_out_of_their_format(gql: Gql) -> None:
    api = gql
    assert isinstance(api, Api)
    setup = """mutation {
      o: registerOrganisation(input: {id: "org-a", name: "甲"}) { __typename }
      h: registerPerson(input: {id: "h-a", name: "承办", organisationId: "org-a"}) { __typename }
      f: registerPerson(input: {id: "o-a", name: "责任", organisationId: "org-a"}) { __typename }
    }"""
    api(setup)
    source = """mutation($title: String!) { registerSource(input: {title: $title,
      documentNumber: $title, organisationId: "org-a", issuedOn: "2024-03-01", level: SECRET,
      period: {kind: YEARS, years: 10}, scope: {organisations: ["org-a"]}, handlerId: "h-a",
      officialId: "o-a"}) { __typename ... on RegisterSourceSuccess { item { id } } } }"""
    made = api(source, {"title": HOSTILE})["registerSource"]
    assert made["__typename"] == "RegisterSourceSuccess"
    api.alias("S-1", made["item"]["id"])

    def content(format: str) -> str:
        text: str = api(EXPORT, {"id": "S-1", "format": format}, as_="o-a")["lineageExport"][
            "content"
        ]
        return text

    root = ET.fromstring(content("GRAPHML").split("\n", 1)[1])  # noqa: S314 - what the service wrote
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    titles = [d.text for d in root.iterfind(".//g:data[@key='title']", ns)]
    assert titles == [HOSTILE]
    dot = content("DOT")
    # Every double quote inside a DOT string is escaped: the node's line has exactly its
    # two strings (id and label) plus the fill colour, and nothing after the statement.
    (line,) = [x for x in dot.splitlines() if x.strip().startswith('"S-1"')]
    unescaped = re.findall(r'(?<!\\)"', line)
    assert len(unescaped) == 6, line
    assert line.endswith('fillcolor="#f8d3a8"];')
    mermaid = content("MERMAID")
    (node,) = [x for x in mermaid.splitlines() if x.strip().startswith("n0[")]
    label = node.strip()[3:-1]
    assert label.startswith('"')
    assert label.endswith('"')
    assert '"' not in label[1:-1]
    assert "]" not in label[1:-1]
    assert "\n" not in label


def test_the_command_line_exports_a_lineage(db_url: str) -> None:
    assert CliRunner().invoke(cli, ["demo", "--store", db_url]).exit_code == 0
    result = CliRunner().invoke(
        cli, ["export-lineage", "D-CITY-001", "--format", "dot", "--store", db_url]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("digraph")
    assert '"D-PROV-001" -> "D-CITY-001"' in result.output
    bad = CliRunner().invoke(cli, ["export-lineage", "D-CITY-001", "-f", "png", "--store", db_url])
    assert bad.exit_code == 2
    assert "格式" in bad.output
    missing = CliRunner().invoke(cli, ["export-lineage", "D-NONE", "--store", db_url])
    assert missing.exit_code == 1  # an unknown id: the data refuses it
    assert "不存在" in missing.output
