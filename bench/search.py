"""Item search (graph.search) on the SQLite store at a million items: the time of a page of
results for words of 2, 3 and 6 characters, a document number and two words, warm, for the
operator (no reader's filter) and for a reader of one organisation (its filter inside the
query); the time to build the index over the items a file already holds (migration 11), and
what the index adds to the file.

    .venv/bin/python -m bench.search --size 1000000 --runs 7 [--cache /tmp]

The items are written once into --cache (kept for the next runs) through the store's own
writer, so the triggers fill the index as the service's writes would. Their titles are made
as offices write them (关于加强某省某领域某事项管理工作的通知), from vocabularies of places,
fields, matters and kinds of document, and their numbers as 机关代字〔年份〕序号号.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from bench.descendants import machine
from graph import search
from graph.access import Actor
from graph.model import (
    Classification,
    Item,
    ItemKind,
    ItemStatus,
    KnowledgeScope,
    Level,
    Organisation,
    Person,
    Years,
)
from graph.store import sqlite as sqlite_module
from graph.store.base import GraphWriter, ItemQuery
from graph.store.sqlite import SqliteStore
from service.usecases import find_items

ORGANISATIONS = 40
PAGE = 50  # the viewer's page
BATCH = 10_000

PLACES = (
    "全国", "北京市", "天津市", "河北省", "山西省", "内蒙古自治区", "辽宁省", "吉林省",
    "黑龙江省", "上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省",
    "河南省", "湖北省", "湖南省", "广东省", "广西壮族自治区", "海南省", "重庆市", "四川省",
    "贵州省", "云南省", "西藏自治区", "陕西省", "甘肃省", "青海省", "宁夏回族自治区",
    "新疆维吾尔自治区", "石家庄市", "太原市", "沈阳市", "大连市", "长春市", "哈尔滨市",
    "南京市", "苏州市", "杭州市", "宁波市", "合肥市", "福州市", "厦门市", "南昌市", "济南市",
    "青岛市", "郑州市", "武汉市", "长沙市", "广州市", "深圳市", "南宁市", "海口市", "成都市",
    "贵阳市", "昆明市", "拉萨市", "西安市", "兰州市", "西宁市", "银川市", "乌鲁木齐市",
)  # fmt: skip
FIELDS = (
    "国防科技工业", "能源", "交通运输", "水利", "通信", "金融", "卫生健康", "应急管理",
    "自然资源", "生态环境", "农业农村", "工业和信息化", "科学技术", "教育", "公安", "外事",
    "统计", "审计", "海关", "税务", "气象", "地震", "测绘地理信息", "粮食和物资储备",
)  # fmt: skip
MATTERS = (
    "涉密载体", "保密要害部门部位", "定密工作", "涉密人员", "网络安全", "重点工程建设",
    "应急物资储备", "涉密信息系统", "密码设备", "重要数据", "保密技术防护", "涉密会议",
    "国家秘密事项", "保密自查自评", "泄密隐患排查", "涉密项目", "保密宣传教育", "档案",
    "对外交流合作", "科研成果", "基础设施", "专项资金", "物资调配", "统计数据",
)  # fmt: skip
ACTS = (
    "关于加强", "关于进一步规范", "关于做好", "关于开展", "关于印发", "关于推进", "关于落实",
    "关于调整", "关于转发", "关于报送", "",
)  # fmt: skip
WORKS = ("管理工作", "检查工作", "专项整治", "建设", "实施工作", "监督检查", "清理核查", "")
KINDS = (
    "的通知", "的意见", "的实施方案", "的报告", "的批复", "的实施细则", "的会议纪要",
    "的请示", "的函", "工作要点", "情况通报", "的工作方案",
)  # fmt: skip
ISSUERS = (
    "国保发", "国保办", "某部发", "某部密", "某省发改", "某省保密办", "某市工信", "某市保密办",
    "某县政办", "某研院", "某局发", "某委办",
)  # fmt: skip
START = date(2015, 1, 1)


def title(rng: random.Random) -> str:
    phase = f"{rng.randint(2015, 2026)}年" if rng.random() < 0.2 else ""
    return (
        f"{rng.choice(ACTS)}{phase}{rng.choice(PLACES)}{rng.choice(FIELDS)}"
        f"{rng.choice(MATTERS)}{rng.choice(WORKS)}{rng.choice(KINDS)}"
    )


def items(size: int, seed: int) -> Iterator[Item]:
    """`size` classified sources of ORGANISATIONS organisations, each read by its own."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    serials: dict[tuple[str, int], int] = {}
    for n in range(size):
        issued = START + timedelta(days=rng.randrange(4000))
        issuer = rng.choice(ISSUERS)
        serial = serials[issuer, issued.year] = serials.get((issuer, issued.year), 0) + 1
        org = f"org-{rng.randrange(ORGANISATIONS) + 1}"
        level = rng.choice((Level.CONFIDENTIAL, Level.SECRET, Level.TOP_SECRET))
        yield Item(
            id=f"I-{n:07d}",
            kind=ItemKind.SOURCE,
            title=title(rng),
            document_number=f"{issuer}〔{issued.year}〕{serial}号",
            organisation_id=org,
            issued_on=issued,
            status=ItemStatus.CLASSIFIED,
            classification=Classification(level, Years(10, issued)),
            scope=KnowledgeScope(organisations=frozenset({org})),
        )


def _add(tx: GraphWriter, chosen: list[Item]) -> None:
    tx.add_items(chosen)


def write(path: Path, size: int, seed: int) -> float:
    """A new store of `size` items at `path`; the seconds its writes took."""
    store = SqliteStore(path, cached_items=0)
    try:

        def people(tx: GraphWriter) -> None:
            for n in range(1, ORGANISATIONS + 1):
                tx.add_organisation(Organisation(f"org-{n}", f"某单位{n}", Level.SECRET))
                tx.add_person(Person(f"p-{n}", f"人员{n}", f"org-{n}"))

        store.write(people)
        started = time.perf_counter()
        batch: list[Item] = []
        for item in items(size, seed):
            batch.append(item)
            if len(batch) == BATCH:
                store.write(partial(_add, chosen=batch))
                batch = []
        if batch:
            store.write(partial(_add, chosen=batch))
        return time.perf_counter() - started
    finally:
        store.close()


def stored(cache: Path, size: int, seed: int) -> tuple[Path, float | None]:
    """The store's file, written unless it is there (then no write time)."""
    path = cache / f"search-{size}-{seed}.sqlite3"
    if path.exists():
        return path, None
    partial = path.with_suffix(".partial")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    took = write(partial, size, seed)
    partial.rename(path)
    return path, took


@dataclass(frozen=True)
class Sizes:
    file: int  # bytes, after a checkpoint
    index: int  # the FTS5 tables and the index of numbers, by their pages (dbstat)
    items: int  # the items table itself


def sizes(path: Path) -> Sizes:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = dict(connection.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
    index = sum(
        v for k, v in pages.items() if k.startswith("item_search") or k == "items_by_number"
    )
    return Sizes(path.stat().st_size, index, pages.get("items", 0))


def rebuild(path: Path) -> float:
    """Drops the index and builds it again as migration 11 does; its seconds."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        connection.row_factory = sqlite3.Row
        connection.execute("BEGIN IMMEDIATE")
        for name in ("insert", "delete", "update"):
            connection.execute(f"DROP TRIGGER item_search_{name}")
        connection.execute("DROP TABLE item_search")
        connection.execute("DROP INDEX items_by_number")
        connection.execute("COMMIT")
        connection.execute("BEGIN IMMEDIATE")
        started = time.perf_counter()
        sqlite_module._v11(connection)
        connection.execute("COMMIT")
        return time.perf_counter() - started


def reader(org: str) -> Actor:
    return Actor(
        user_id="p-reader",
        name="读者",
        person_id="p-reader",
        organisation_id=org,
        member_of=frozenset({org}),
    )


def queries(path: Path) -> list[tuple[str, str]]:
    """What is searched: (what it is, the text); the number is one the file holds."""
    with closing(sqlite3.connect(path)) as connection:
        (number,) = connection.execute(
            "SELECT document_number FROM items WHERE id = 'I-0000007'"
        ).fetchone()
    return [
        ("2 characters, common", "通知"),
        ("2 characters, in no title", "无果"),
        ("3 characters", "杭州市"),
        ("3 characters, common", "的通知"),
        ("6 characters", "保密要害部门"),
        ("a document number", str(number)),
        ("two words", "涉密载体 杭州"),
    ]


def timed(store: SqliteStore, text: str, actor: Actor | None, runs: int) -> tuple[float, int]:
    """The median milliseconds of a first page of results, warm, and how many it held."""
    query = ItemQuery(text=text, limit=PAGE, readable=actor.read_filter() if actor else None)
    found = len(find_items(store, query).items)  # warms the pages it reads
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        find_items(store, query)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, found


def matches(path: Path, text: str) -> int:
    """How many items hold every word, for the table: counted by a scan, not timed."""
    words = text.split()
    holds = " AND ".join(
        ["(title LIKE ? ESCAPE '\\' OR document_number LIKE ? ESCAPE '\\' "
         "OR id LIKE ? ESCAPE '\\')"] * len(words)
    )  # fmt: skip
    patterns = [search.like_pattern(w) for w in words for _ in range(3)]
    with closing(sqlite3.connect(path)) as connection:
        sql = f"SELECT count(*) FROM items WHERE {holds}"  # noqa: S608 - fixed conditions
        return int(connection.execute(sql, patterns).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--no-rebuild", action="store_true", help="skip the index build")
    args = parser.parse_args()
    path, wrote = stored(args.cache, args.size, args.seed)
    print(f"store: {path}", file=sys.stderr, flush=True)
    if not args.no_rebuild:
        built = rebuild(path)
    found = sizes(path)
    store = SqliteStore(path, cached_items=0)
    rows = []
    try:
        for what, text in queries(path):
            operator = timed(store, text, None, args.runs)
            one = timed(store, text, reader("org-1"), args.runs)
            rows.append((what, text, matches(path, text), operator, one))
    finally:
        store.close()
    print(f"Machine: {machine()}; SQLite {sqlite3.sqlite_version}. {args.size:,} items.")
    if wrote is not None:
        print(f"Written through the store in batches of {BATCH:,}: {wrote:.0f} s.")
    if not args.no_rebuild:
        print(f"Index built over the items (migration 11): {built:.1f} s.")
    print(
        f"File {found.file / 2**20:,.0f} MiB, of which the index {found.index / 2**20:,.0f} MiB "
        f"(the items table {found.items / 2**20:,.0f} MiB)."
    )
    print(
        f"\nA first page of {PAGE} (the service's probe of one more), median of {args.runs} "
        "warm runs:\n"
    )
    print("| search | text | items that hold it | operator | reader of 1 of 40 organisations |")
    print("|---|---|---:|---:|---:|")
    for what, text, count, (all_ms, all_n), (one_ms, one_n) in rows:
        print(
            f"| {what} | {text} | {count:,} | {all_ms:,.1f} ms ({all_n}) "
            f"| {one_ms:,.1f} ms ({one_n}) |"
        )


if __name__ == "__main__":
    main()
