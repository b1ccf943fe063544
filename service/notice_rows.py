"""The notices of a committed fan-out as rows, for a store to write in bulk (issue 24): a
change over 100,000 descendants sends 100,000 notices, and building a `Notice` (two item
snapshots, a phrase of some forty mentions) and encoding it field by field cost more than
writing it.

Each row is what `codec.notice_fields` gives for the notice that `service.change` builds
for the same impact (tests/unit/test_notice_rows.py compares them), in `codec.NOTICE_COLUMNS`
order, computed from the fan-out's rows (`Impacts.rows`): what many notices share is encoded
once (the state of the items before and after, by the values they hold; the actions; the
articles; the words of the text), what is each one's own (its item's id, title and path) is
put in between. The text stays a phrase that names the source, the item, the path and the
bases by reference, rendered for each reader when read (service.redaction, D-10).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from json.encoder import encode_basestring
from typing import Any

from graph.change import Change, NoticeStatus
from graph.model import Item, chinese_date
from graph.phrase import Phrase, item_id, item_title
from graph.propagation import Action, Impacts
from graph.store.codec import (
    phrase_json,
    snapshot_joined,
    snapshot_own,
    snapshot_state,
    timestamp,
)

NoticeRow = tuple[Any, ...]
# What a review asks for, in its text (service.change.notice_text).
REVIEWED = "与其主事项一并审核，主事项尚未解密的不得解密"


def _mention(id: str) -> str:
    """`item_id(id)` as a phrase's JSON holds it."""
    return f'{{"item": {encode_basestring(id)}, "show": "id"}}'


_ARROW = f", {encode_basestring(' → ')}, "
_COMMA = f", {encode_basestring('、')}, "
_OPEN = NoticeStatus.PENDING.value


class _Encoded(dict[str, str]):
    """Ids encoded by `encode`, each once."""

    def __init__(self, encode: Callable[[str], str]) -> None:
        super().__init__()
        self._encode = encode

    def __missing__(self, id: str) -> str:
        found = self[id] = self._encode(id)
        return found


def notice_rows(
    change: Change, source: Item, impacts: Impacts, due_on: date, ids: Sequence[str]
) -> Iterator[NoticeRow]:
    """The notice of each impact as a row, with its id from `ids`, in the impacts' order:
    what service.change writes for them, field for field."""
    created = timestamp(change.recorded_at)
    due = due_on.isoformat()
    # The words before the item's own: the source, named by reference, and the change.
    head = phrase_json(
        Phrase.of(
            "因「",
            item_title(source.id),
            "」（",
            item_id(source.id),
            f"）已于{chinese_date(change.effective_on)}{change.kind.label}，派生事项「",
        )
    )[1:-1]
    between = encode_basestring("」（")
    # Encoded once each: keyed by identity, every key's object lives as long as the fan-out.
    states: dict[tuple[object, ...], tuple[str, str | None]] = {}
    afters: dict[tuple[object, ...], tuple[str, str, str | None]] = {}
    actions_json: dict[tuple[Action, ...], str] = {}
    articles_json: dict[tuple[str, ...], tuple[str, str]] = {}
    # Each item of a path is on the paths of many: encoded once, looked up in C.
    mention = _Encoded(_mention).__getitem__
    quoted = _Encoded(encode_basestring).__getitem__
    for number, row in enumerate(impacts.rows()):
        node, actions, value, scope, path, articles, kept = row
        before = impacts.known(node)
        if before is None:  # the fan-out found it among its items: never
            raise KeyError(node)
        state_key = (
            before.status,
            id(before.classification),
            id(before.scope),
            id(before.scope_limit),
            id(before.joint_organisation_ids),
        )
        state = states.get(state_key)
        if state is None:
            state = states[state_key] = (snapshot_state(before), before.marking)
        # A changed item is its own: the change gives it its values (and version).
        changes = node if impacts.changes(node) else None
        after_key = (*state_key, value, id(scope), changes, actions)
        after = afters.get(after_key)
        if after is None:
            changed = impacts.after(node, value, scope)
            if Action.DECLASSIFY in actions:
                outcome = changed.status.label
            elif Action.REVIEW in actions:
                outcome = REVIEWED
            else:
                outcome = changed.marking or ""
            labels = "、".join(a.label for a in actions)
            words = f"，现标志 {state[1]}）须{labels}：{outcome}。派生路径："
            state_after = snapshot_state(changed)
            whole = None
            if changes:  # its own snapshot: no other item shares it
                whole = snapshot_joined(snapshot_own(changed), state_after, changed.version)
            after = afters[after_key] = (state_after, words, whole)
        acts = actions_json.get(actions)
        if acts is None:
            acts = actions_json[actions] = json.dumps([a.value for a in actions])
        cited = articles_json.get(articles)
        if cited is None:
            cited = articles_json[articles] = (
                json.dumps(list(articles), ensure_ascii=False),
                f"依据：{'、'.join(articles)}。请于{chinese_date(due_on)}前处理。",
            )
        own = snapshot_own(before)
        # The text as service.change.notice_text builds it, words and mentions in turn.
        title = f'{{"item": {encode_basestring(node)}, "show": "title"}}'
        parts = [head, title, between, mention(node)]
        words = after[1]
        if path:
            parts.append(encode_basestring(words))
            parts.append(_ARROW.join(map(mention, path)))
            words = "。"
        else:
            words += "。"
        if kept and Action.DECLASSIFY not in actions:
            parts.append(encode_basestring(words + "仍依据："))
            parts.append(_COMMA.join(map(mention, kept)))
            words = "，不予解密。"
        parts.append(encode_basestring(words + cited[1]))
        yield (
            ids[number],
            change.id,
            source.id,
            node,
            before.organisation_id,
            acts,
            snapshot_joined(own, state[0], before.version),
            after[2] or snapshot_joined(own, after[0], before.version),
            f"[{', '.join(map(quoted, path))}]",
            cited[0],
            f"[{', '.join(map(quoted, kept))}]",
            "[" + ", ".join(parts) + "]",
            due,
            _OPEN,
            created,
            created,
            None,
            None,
            None,
            None,
        )
