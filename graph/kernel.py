"""The fan-out's pass over a lineage's layers, compiled (numba): one loop over nodes and edges
in machine code instead of some fifty array operations per layer, whose fixed cost was most
of an analysis of a deep lineage (about 0.3 ms a layer, 389 layers in the 100,000-item
diamond of bench/targets.py).

The decisions themselves stay in `graph.propagation`: a value, a scope or an action is
numbered there, with the rules, and handed to this pass through `Memo` tables. The pass
stops at the first layer where it meets something not numbered yet and says what; the
fan-out numbers it and resumes the pass at that layer. Every layer is decided from the
layers before it only, so taking one again gives the same answer.

Compiled code is cached beside this module (numba's `cache=True`); `warm()` loads or
compiles it ahead of the first analysis.
"""

from __future__ import annotations

from typing import Any, cast

import numba
import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

# A memo's empty slot; keys are non-negative.
_EMPTY = -1
# What the pass answers when it has taken every layer.
DONE = -1
# Bits of a packed key's fields (see `result_key`, `pair_key`): numbers stay below 2**29.
_FIELD = 29
LIMIT = 1 << _FIELD


def _jit(function: Any) -> Any:
    return numba.njit(cache=True, nogil=True)(function)


def _slot(keys: Ints, key: int) -> int:
    """Where `key` is in an open-addressed table, or the empty slot where it would go."""
    mask = np.int64(keys.size - 1)
    spread = np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)
    at = np.int64((spread >> np.uint64(32)) & np.uint64(mask))
    while keys[at] != _EMPTY and keys[at] != key:
        at = (at + 1) & mask
    return int(at)


_slot_jit = _jit(_slot)


def _lookup(keys: Ints, values: Ints, key: int) -> int:
    at = _slot_jit(keys, key)
    return int(values[at]) if keys[at] == key else _EMPTY


_lookup_jit = _jit(_lookup)


def _store(keys: Ints, values: Ints, key: int, value: int) -> bool:
    """Sets `key` to `value`; True where the key is new."""
    at = _slot_jit(keys, key)
    fresh = bool(keys[at] == _EMPTY)
    keys[at] = key
    values[at] = value
    return fresh


_store_jit = _jit(_store)


class Memo:
    """A table of non-negative int64 keys to int64 values that the compiled pass reads:
    open addressing in two arrays, grown by the fan-out (only it writes)."""

    def __init__(self, capacity: int = 256) -> None:
        self.keys: Ints = np.full(capacity, _EMPTY, dtype=np.int64)
        self.values: Ints = np.zeros(capacity, dtype=np.int64)
        self.count = 0

    def get(self, key: int) -> int | None:
        found = int(_lookup_jit(self.keys, self.values, key))
        return None if found == _EMPTY and not self._holds(key) else found

    def _holds(self, key: int) -> bool:
        return bool(self.keys[_slot_jit(self.keys, key)] == key)

    def put(self, key: int, value: int) -> None:
        if (self.count + 1) * 2 > self.keys.size:
            keys, values = self.keys, self.values
            self.keys = np.full(keys.size * 2, _EMPTY, dtype=np.int64)
            self.values = np.zeros(keys.size * 2, dtype=np.int64)
            used = keys != _EMPTY
            for old, kept in zip(keys[used].tolist(), values[used].tolist(), strict=True):
                _store_jit(self.keys, self.values, old, kept)
        if _store_jit(self.keys, self.values, key, value):
            self.count += 1


def result_key(rank: int, period: int, limit: int) -> int:
    """A level's rank, a period and a scope limit (all numbered) as one key."""
    return (rank << (2 * _FIELD)) | (period << _FIELD) | limit


def pair_key(first: int, second: int) -> int:
    return (first << _FIELD) | second


def unpack_result(key: int) -> tuple[int, int, int]:
    mask = LIMIT - 1
    return key >> (2 * _FIELD), (key >> _FIELD) & mask, key & mask


def unpack_pair(key: int) -> tuple[int, int]:
    return key >> _FIELD, key & (LIMIT - 1)


def _layered(
    below: Ints,
    inside: Flags,
    parent_rows: Ints,
    parents: Ints,
    child_rows: Ints,
    children: Ints,
    position: Ints,
) -> tuple[Ints, Ints]:
    """The nodes `below` in layers (a node once its parents inside are all in earlier
    layers), each layer in the order of `position`: the nodes in that order, and where each
    layer starts (with the end last). Fewer nodes than `below` means a cycle."""
    size = inside.size
    pending = np.zeros(size, dtype=np.int64)
    for node in below:
        for at in range(parent_rows[node], parent_rows[node + 1]):
            if inside[parents[at]]:
                pending[node] += 1
    order = np.empty(below.size, dtype=np.int64)
    starts = np.empty(below.size + 1, dtype=np.int64)
    layers = 0
    end = 0
    for node in below:
        if pending[node] == 0:
            order[end] = node
            end += 1
    start = 0
    while end > start:
        layer = order[start:end]
        order[start:end] = layer[np.argsort(position[layer], kind="mergesort")]
        starts[layers] = start
        layers += 1
        nxt = end
        for i in range(start, end):
            node = order[i]
            for at in range(child_rows[node], child_rows[node + 1]):
                child = children[at]
                if inside[child]:
                    pending[child] -= 1
                    if pending[child] == 0:
                        order[nxt] = child
                        nxt += 1
        start, end = end, nxt
    starts[layers] = end
    return order[:end], starts[: layers + 1]


_layered_jit = _jit(_layered)


def layered(
    below: Ints,
    inside: Flags,
    parent_rows: Ints,
    parents: Ints,
    child_rows: Ints,
    children: Ints,
    position: Ints,
) -> tuple[Ints, Ints]:
    return cast(
        tuple[Ints, Ints],
        _layered_jit(below, inside, parent_rows, parents, child_rows, children, position),
    )


def _decide(
    first_layer: int,
    order: Ints,
    starts: Ints,
    parent_rows: Ints,
    parents: Ints,
    edge_kinds: Ints,
    current: Ints,
    own: Ints,
    meets: Ints,
    extra_of: Ints,
    is_draft: Flags,
    columns: Ints,
    keyed: Flags,
    kind_given: Ints,
    kind_mixed: Flags,
    extras: Ints,
    results: Ints,
    result_values: Ints,
    pairs: Ints,
    pair_values: Ints,
    follows: Ints,
    follow_values: Ints,
    ruled: Ints,
    outcome_of: Ints,
    action_of: Ints,
    scope_of: Ints,
    review: int,
    missing: Ints,
) -> tuple[int, int]:
    """Decides the layers from `first_layer` on, as `graph.propagation._FanOut` describes,
    until one needs a number not in the memos. Answers (DONE, 0), or that layer and how
    many packed keys it put in `missing`: (0, key) a result, (1, key) a pair of scope limits
    to join, (2, node) a node the rules decide, (3, key) an action to meet an outcome."""
    value_level, value_end = columns[0], columns[1]
    value_period, value_limit = columns[2], columns[3]
    big = np.iinfo(np.int64).max
    found = np.zeros(64, dtype=np.int64)
    for layer in range(first_layer, starts.size - 1):
        misses = 0
        start, end = starts[layer], starts[layer + 1]
        for i in range(start, end):
            node = order[i]
            if own[node] <= 0:
                continue
            level = 0
            last = -1
            mixed = False
            count = 0  # distinct scope limits given, in `found`
            for at in range(parent_rows[node], parent_rows[node + 1]):
                given = current[parents[at]]
                if given <= 0:
                    continue
                kind = edge_kinds[at]
                if keyed[kind]:
                    rank, until = kind_given[0, kind], kind_given[1, kind]
                    mixed = mixed or kind_mixed[kind]
                else:
                    rank, until = value_level[given], value_end[given]
                level = max(level, rank)
                last = max(last, until)
                limit = value_limit[given]
                if limit > 0:
                    known = False
                    for j in range(count):
                        known = known or found[j] == limit
                    if not known:
                        if count == found.size:
                            found = np.concatenate((found, np.zeros(count, dtype=np.int64)))
                        found[count] = limit
                        count += 1
            extra = extra_of[node]
            level = max(level, extras[0, extra])
            last = max(last, extras[1, extra])
            mixed = mixed or extras[3, extra] > 0
            # The period of the first basis that ends last, and whether those differ.
            first, highest = big, -1
            for at in range(parent_rows[node], parent_rows[node + 1]):
                given = current[parents[at]]
                if given <= 0:
                    continue
                kind = edge_kinds[at]
                if keyed[kind]:
                    rank, until = kind_given[0, kind], kind_given[1, kind]
                    period = kind_given[2, kind]
                else:
                    rank, until = value_level[given], value_end[given]
                    period = value_period[given]
                if until == last and rank > 0:
                    first = min(first, period)
                    highest = max(highest, period)
            if extras[1, extra] == last and extras[0, extra] > 0:
                first = min(first, extras[2, extra])
                highest = max(highest, extras[2, extra])
            mixed = mixed or (first != highest and level > 0)
            result = 0
            if mixed:
                result = ruled[node]
                if result < 0:
                    missing[2 * misses], missing[2 * misses + 1] = 2, node
                    misses += 1
                    continue
            elif level > 0:
                joined = 0
                if count:
                    limits = np.sort(found[:count])
                    joined = limits[0]
                    for j in range(1, count):
                        key = (joined << _FIELD) | limits[j]
                        joined = _lookup_jit(pairs, pair_values, key)
                        if joined == _EMPTY:
                            missing[2 * misses], missing[2 * misses + 1] = 1, key
                            misses += 1
                            break
                    if joined == _EMPTY:
                        continue
                key = (level << (2 * _FIELD)) | (first << _FIELD) | joined
                result = _lookup_jit(results, result_values, key)
                if result == _EMPTY:
                    missing[2 * misses], missing[2 * misses + 1] = 0, key
                    misses += 1
                    continue
            outcome_of[node] = result
        if misses:
            return layer, misses
        for i in range(start, end):
            node = order[i]
            if own[node] <= 0:
                current[node] = 0
                continue
            # Not declassified with its bases while its main item stands: reviewed (X-16,
            #
            if outcome_of[node] == 0 and is_draft[node]:
                outcome_of[node] = -1
                action_of[node] = review
                current[node] = own[node]
                continue
            key = (meets[node] << _FIELD) | outcome_of[node]
            taken = _lookup_jit(follows, follow_values, key)
            if taken == _EMPTY:
                missing[2 * misses], missing[2 * misses + 1] = 3, key
                misses += 1
                continue
            action_of[node] = (taken >> 32) - 1
            scope_of[node] = (taken & 0xFFFFFFFF) - 1
            current[node] = own[node] if action_of[node] < 0 else outcome_of[node]
        if misses:
            return layer, misses
    return DONE, 0


_decide_jit = _jit(_decide)


def decide(*arguments: Any) -> tuple[int, int]:
    """`_decide`, compiled."""
    return cast(tuple[int, int], _decide_jit(*arguments))


def follow_value(action: int, scope: int) -> int:
    """An action (-1: none) and a scope (-1: none), numbered, as a memo's value."""
    return ((action + 1) << 32) | (scope + 1)


def warm() -> None:
    """Loads the compiled pass (or compiles it) on a tiny lineage, so that the first analysis
    does not wait for it."""
    one = np.zeros(1, dtype=np.int64)
    rows = np.zeros(2, dtype=np.int64)
    below = one.copy()
    below.flags.writeable = False  # as `graph.lineage.Index.below` answers
    layered(below, np.ones(1, dtype=bool), rows, one, rows, one, one)
    memo = Memo(4)
    flags = np.zeros(1, dtype=bool)
    decide(
        0, one, rows, rows, one, one, np.zeros(2, dtype=np.int64), one, one, one, flags,
        np.zeros((4, 1), dtype=np.int64), flags, np.zeros((3, 1), dtype=np.int64), flags,
        np.zeros((4, 1), dtype=np.int64), memo.keys, memo.values, memo.keys, memo.values,
        memo.keys, memo.values, np.full(1, -1, dtype=np.int64), np.full(1, -1, dtype=np.int64),
        np.full(1, -1, dtype=np.int64), np.full(1, -1, dtype=np.int64), 1,
        np.zeros(4, dtype=np.int64),
    )  # fmt: skip
