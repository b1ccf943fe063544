"""The audit trail's chain checked against its anchors (graph.chain), and the anchors noted.

An anchor is the chain's head at a moment: the place of its last event and that event's digest.
The daily run notes one in the graph store (a memo, apart from the trail) and in the log, for
the operator to ship off the machine; `lineage trail verify` checks the whole chain against
the ones in the store and any given to it. Whoever rewrites the chain to hide an edit must
change every anchor after the edit too, wherever it was shipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from graph.access import SYSTEM
from graph.chain import ANCHOR_PREFIX, Anchor, Verdict, Verifier
from graph.errors import DuplicateId
from graph.store.base import GraphReader, GraphStore
from graph.trail import Outcome
from service.auditing import event
from service.usecases import now

log = logging.getLogger(__name__)

# Events read from the store at a time.
PAGE = 5_000
MEMO_SOURCE = "存储的锚点"


def stored(store: GraphStore) -> list[Anchor]:
    """The anchors noted in the graph store, by place. One that cannot be read is logged and
    passed over: it anchors nothing."""

    def memos(after: str | None) -> list[tuple[str, str]]:
        return store.read(lambda tx: tx.memos(ANCHOR_PREFIX, after, 1_000))

    found: list[Anchor] = []
    after: str | None = None
    while True:
        page = memos(after)
        for key, value in page:
            try:
                found.append(Anchor.decoded(value, MEMO_SOURCE))
            except (ValueError, KeyError, TypeError):
                log.error("审计链锚点 %s 无法读取，已跳过：备忘被改动过。", key)
        if len(page) < 1_000:
            return found
        after = page[-1][0]


def verify(
    store: GraphStore, given: Sequence[Anchor] = (), *, resume: Anchor | None = None
) -> Verdict:
    """The chain from its start (or from `resume` on) up to its head as read first, against
    the stored anchors and `given`."""
    head, unchained = store.trail_head()
    verifier = Verifier(head, unchained, [*stored(store), *given], resume)
    after, after_id = verifier.after, None
    while True:
        page = store.trail_page(after, after_id, head.seq, PAGE)
        verifier.feed(page)
        if len(page) < PAGE:
            return verifier.verdict()
        after, after_id = page[-1].seq, page[-1].event.id


def record(store: GraphStore) -> Anchor | None:
    """Notes the chain's head as an anchor in the graph store and in the log; None while the
    chain is empty. A place anchored before keeps its first anchor: if the chain there holds
    another digest now, that is logged as an error, and `verify` names it."""
    head, _ = store.trail_head()
    if head.seq < head.start:
        return None
    anchor = Anchor(head.seq, head.digest, now(), MEMO_SOURCE)

    def kept(tx: GraphReader) -> str | None:
        return tx.memo(anchor.memo_key())

    held = store.read(kept)
    if held is None:
        try:
            store.write(lambda tx: tx.add_memo(anchor.memo_key(), anchor.encoded()))
        except DuplicateId:  # another replica noted the same place meanwhile
            held = store.read(kept)
    if held is not None and Anchor.decoded(held).digest != anchor.digest:
        log.error(
            "审计链第 %d 位已有锚点，摘要与现在的链不同：链被改写过，请运行 lineage trail verify。",
            anchor.seq,
        )
    # The line to ship elsewhere (a log collector, a ticket, paper): `lineage trail verify
    # --anchor SEQ:DIGEST` checks the chain against it.
    log.info("审计链锚点 %s（%s）", anchor.text, anchor.at.isoformat() if anchor.at else "")
    return anchor


def daily(store: GraphStore) -> Verdict:
    """The daily run's part: the chain checked since the last anchor (a break is logged and
    recorded in the trail), then a new anchor noted."""
    anchors = stored(store)
    last = max(anchors, key=lambda a: a.seq, default=None)
    verdict = verify(store, resume=last)
    if not verdict.intact:
        first = verdict.first
        said = first.message if first is not None else ""
        log.error("审计链校验发现 %d 处断裂，第一处：%s", verdict.found, said)
        store.append_audit(
            [event(SYSTEM, "system trail verify", Outcome.ERROR, detail=f"审计链断裂：{said}")]
        )
    record(store)
    return verdict


def report(verdict: Verdict) -> list[str]:
    """The verdict in lines for a person: where the chain starts, what was checked, and the
    breaks, first first."""
    head = verdict.head
    lines = []
    if verdict.resumed is not None:
        lines.append(f"自锚点第 {verdict.resumed.seq} 位起校验到第 {head.seq} 位。")
    elif head.start > 1 or head.unchained:
        lines.append(
            f"审计链始于第 {head.start} 位；此前写下的 {head.unchained} 条事件不在链中，"
            "不受链保护。"
        )
    else:
        lines.append("审计链始于第 1 位。")
    lines.append(
        f"已校验链中事件 {verdict.checked} 条（链头：第 {head.seq} 位，摘要 {head.digest}），"
        f"锚点 {verdict.anchors} 个。"
    )
    if verdict.intact:
        lines.append("审计链完好。")
        return lines
    first = verdict.first
    if first is not None:
        lines.append(f"第一处断裂（{first.fault.label}）：{first.message}")
    for other in verdict.breaks[1:]:
        lines.append(f"  另：（{other.fault.label}）{other.message}")
    if verdict.found > len(verdict.breaks):
        lines.append(f"  共发现 {verdict.found} 处断裂，以上列出前 {len(verdict.breaks)} 处。")
    return lines
