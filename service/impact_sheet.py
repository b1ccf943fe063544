"""The impact list of a dry run (service.impact) as a table to file or pass on: one row for
each descendant that would have to act, as its reader may see it (service.redaction): a
descendant outside the reader's knowledge scope is a row with its placeholder id and nothing
more, and a path or basis that names one shows its placeholder."""

from __future__ import annotations

from collections.abc import Sequence

from graph.phrase import Names
from service.impact import ImpactList
from service.redaction import WITHHELD, Redactor
from service.workbook import Cell, Table

COLUMNS = (
    "序号",
    "事项标识",
    "文件名称",
    "文号",
    "当前标志",
    "应采取的措施",
    "变更后标志",
    "变更后状态",
    "派生路径",
    "仍有效的依据",
    "条款",
    "说明",
)
WIDTHS = (6, 22, 36, 22, 16, 20, 16, 20, 40, 24, 16, 60)


def impact_table(
    impacts: ImpactList, shown: Sequence[tuple[int, str, bool]], redactor: Redactor, names: Names
) -> Table:
    """`shown` as ImpactAnalysis orders it: position in `impacts`, item id, and whether the
    reader may read it; `names` holds what the readable entries name."""
    rows: list[list[Cell]] = []
    for number, (position, item_id, readable) in enumerate(shown, start=1):
        if not readable:
            rows.append([number, redactor.opaque(item_id), WITHHELD])
            continue
        impact = impacts[position]
        item = redactor.show(impact.before)
        summary = impact.explanation.summary if impact.explanation else None

        def ref(id: str) -> str:
            return redactor.ref(id, names.items.get(id))

        rows.append(
            [
                number,
                item.id,
                item.title,
                item.document_number,
                item.marking or item.status.label,
                "、".join(a.label for a in impact.actions),
                impact.after.marking or "",
                impact.after.status.label,
                " → ".join(ref(p) for p in impact.path),
                "、".join(ref(b) for b in impact.kept_bases),
                "、".join(impact.articles),
                redactor.render(summary, names) if summary is not None else "",
            ]
        )
    return Table("影响清单", COLUMNS, rows, WIDTHS)
