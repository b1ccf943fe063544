"""The lineage view's JSON names each node field by its camelCase name (service.views)."""

from __future__ import annotations

import re

from service.views import _NODE_KEYS, LineageView, ViewEdge, ViewNode


def test_each_node_key_is_its_field_in_camel_case() -> None:
    camel = [re.sub(r"_(\w)", lambda m: m.group(1).upper(), f) for f in ViewNode._fields]
    assert list(_NODE_KEYS) == camel


def test_a_node_and_an_edge_as_json() -> None:
    node = ViewNode(
        "D-1", False, 1, 1, 0, 0.5, 1.0, "题目", "文号", "DERIVED", "SECRET", "机密",
        "机密★10年", "CLASSIFIED", "有效", "org-1", 2,
    )  # fmt: skip
    edge = ViewEdge("D-1", "S-1", "INVOLVES_KEYPOINT", "涉及密点", ("S-1.K1",))
    found = LineageView("S-1", [node], [edge], 0).as_json()
    assert found["nodes"] == [
        {
            "id": "D-1", "redacted": False, "depth": 1, "layer": 1, "order": 0, "x": 0.5,
            "y": 1.0, "title": "题目", "documentNumber": "文号", "kind": "DERIVED",
            "level": "SECRET", "levelLabel": "机密", "marking": "机密★10年",
            "status": "CLASSIFIED", "statusLabel": "有效", "organisationId": "org-1",
            "openNotices": 2,
        }
    ]  # fmt: skip
    assert found["edges"] == [
        {
            "childId": "D-1",
            "parentId": "S-1",
            "case": "INVOLVES_KEYPOINT",
            "caseLabel": "涉及密点",
            "keypointIds": ["S-1.K1"],
        }
    ]
