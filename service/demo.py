"""A realistic demo data set, loaded through the same use cases as the API, so every demo item
is classified by the rules. Loading it twice writes nothing the second time.

Organisations of several levels (one without classification authority, D-5); sources with
keypoints, one long-term (长期), one with a date, one with a condition, one unmarked (X-11);
a derived chain six deep, diamonds, a mixed case with a scope rule (D-15), and a process item.
One bureau's files, taken over from an older system, show each case of D-21 for the audit
(service.demo_inspection); the rest is clean.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

from graph.access import EVERY_ORGANISATION, SYSTEM, Role, User
from graph.model import BasisCase, KnowledgeScope, Level, PeriodKind
from graph.store.base import GraphReader, GraphStore
from service import demo_inspection
from service.accounts import NewUser, add_user, issue_token
from service.usecases import (
    BasisSpec,
    DeriveItem,
    NewKeypoint,
    NewOrganisation,
    NewPerson,
    NewScopeRule,
    PeriodSpec,
    RegisterSource,
    derive_item,
    register_organisation,
    register_person,
    register_scope_rule,
    register_source,
)

ORGANISATIONS = (
    NewOrganisation("org-ministry", "国家某部", Level.TOP_SECRET),
    NewOrganisation("org-province", "某省发展和改革委员会", Level.SECRET),
    NewOrganisation("org-city", "某市发展和改革局", Level.CONFIDENTIAL),
    NewOrganisation("org-county", "某县工业和信息化局", None),
    NewOrganisation("org-institute", "某研究院", None),
    # 保密行政管理部门: supervises every organisation; it classifies nothing of the demo.
    NewOrganisation("org-secrecy", "某省国家保密局", Level.TOP_SECRET),
)

# (id, name, organisation): the first of each organisation handles (承办人), the second
# decides (定密责任人).
PERSONS = (
    NewPerson("p-zhang-wei", "张伟", "org-ministry"),
    NewPerson("p-li-qiang", "李强", "org-ministry"),
    NewPerson("p-wang-fang", "王芳", "org-province"),
    NewPerson("p-liu-yang", "刘洋", "org-province"),
    NewPerson("p-chen-jing", "陈静", "org-city"),
    NewPerson("p-yang-lei", "杨磊", "org-city"),
    NewPerson("p-zhao-min", "赵敏", "org-county"),
    NewPerson("p-huang-tao", "黄涛", "org-county"),
    NewPerson("p-zhou-jie", "周杰", "org-institute"),
    NewPerson("p-wu-xia", "吴霞", "org-institute"),
    NewPerson("p-sun-hong", "孙红", "org-secrecy"),
)

DECIDERS = {
    "org-ministry": ("p-zhang-wei", "p-li-qiang"),
    "org-province": ("p-wang-fang", "p-liu-yang"),
    "org-city": ("p-chen-jing", "p-yang-lei"),
    "org-county": ("p-zhao-min", "p-huang-tao"),
    "org-institute": ("p-zhou-jie", "p-wu-xia"),
    demo_inspection.BUREAU: (demo_inspection.HANDLER, demo_inspection.OFFICIAL),
}

SCOPE_RULES = (
    NewScopeRule(
        "SR-ENG-3",
        "重点工程建设规划中的关键布局与储备信息",
        "《某行业国家秘密及其密级具体范围》第三条",
        Level.SECRET,
        years=15,
        issuer="国家某部",
    ),
    NewScopeRule(
        "SR-EQP-1",
        "核心装备性能参数",
        "《某领域国家秘密及其密级具体范围》第一条",
        Level.TOP_SECRET,
        long_term=True,
        issuer="国家某部",
    ),
)


def _orgs(*ids: str) -> KnowledgeScope:
    return KnowledgeScope(organisations=frozenset(ids))


def _source(
    id: str,
    title: str,
    number: str,
    issued_on: date,
    level: Level,
    period: PeriodSpec,
    scope: KnowledgeScope,
    keypoints: tuple[NewKeypoint, ...] = (),
    scope_limit: KnowledgeScope | None = None,
    scope_rule_ids: tuple[str, ...] = (),
) -> RegisterSource:
    handler, official = DECIDERS["org-ministry"]
    return RegisterSource(
        id=id,
        title=title,
        document_number=number,
        organisation_id="org-ministry",
        issued_on=issued_on,
        level=level,
        period=period,
        scope=scope,
        keypoints=keypoints,
        scope_limit=scope_limit,
        scope_rule_ids=scope_rule_ids,
        handler_id=handler,
        official_id=official,
    )


SOURCES = (
    _source(
        "S-2024-012",
        "关于某重点工程建设总体方案的通知",
        "某部发〔2024〕12号",
        date(2024, 3, 1),
        Level.SECRET,
        PeriodSpec(PeriodKind.YEARS, years=20),
        _orgs("org-ministry", "org-province", "org-city", "org-institute"),
        keypoints=(
            NewKeypoint(
                "工程选址坐标",
                Level.SECRET,
                PeriodSpec(PeriodKind.YEARS, years=20),
                "S-2024-012.K1",
            ),
            NewKeypoint(
                "投资规模与分期安排",
                Level.CONFIDENTIAL,
                PeriodSpec(PeriodKind.YEARS, years=10),
                "S-2024-012.K2",
            ),
        ),
        scope_limit=_orgs(
            "org-ministry", "org-province", "org-city", "org-county", "org-institute"
        ),
    ),
    _source(
        "S-2023-007",
        "某型装备核心技术指标",
        "某部密〔2023〕7号",
        date(2023, 9, 15),
        Level.TOP_SECRET,
        PeriodSpec(PeriodKind.LONG_TERM),
        KnowledgeScope(persons=frozenset({"p-zhang-wei", "p-li-qiang", "p-zhou-jie"})),
        keypoints=(
            NewKeypoint(
                "核心性能参数",
                Level.TOP_SECRET,
                PeriodSpec(PeriodKind.LONG_TERM),
                "S-2023-007.K1",
            ),
            NewKeypoint(
                "配套保障要求",
                Level.SECRET,
                PeriodSpec(PeriodKind.YEARS, years=20),
                "S-2023-007.K2",
            ),
        ),
        scope_limit=_orgs("org-ministry", "org-institute"),
        scope_rule_ids=("SR-EQP-1",),
    ),
    _source(
        "S-2022-015",
        "某专项工作会议纪要",
        "某部纪〔2022〕15号",
        date(2022, 6, 15),
        Level.CONFIDENTIAL,
        PeriodSpec(PeriodKind.UNMARKED),
        _orgs("org-ministry", "org-city"),
    ),
    _source(
        "S-2025-003",
        "关于某地区应急物资储备布局的通知",
        "某部发〔2025〕3号",
        date(2025, 1, 10),
        Level.CONFIDENTIAL,
        PeriodSpec(PeriodKind.UNTIL_DATE, until=date(2030, 12, 31)),
        _orgs("org-ministry", "org-province"),
    ),
    _source(
        "S-2024-020",
        "某试验项目实施方案",
        "某部发〔2024〕20号",
        date(2024, 7, 1),
        Level.SECRET,
        PeriodSpec(PeriodKind.UNTIL_CONDITION, condition="项目通过国家验收后解密"),
        _orgs("org-ministry", "org-institute"),
    ),
)


def _derive(
    id: str,
    title: str,
    number: str,
    organisation: str,
    issued_on: date,
    bases: tuple[BasisSpec, ...],
    scope: KnowledgeScope,
    scope_rule_ids: tuple[str, ...] = (),
    process_item_of: str | None = None,
) -> DeriveItem:
    handler, official = DECIDERS[organisation]
    return DeriveItem(
        id=id,
        title=title,
        document_number=number,
        organisation_id=organisation,
        issued_on=issued_on,
        bases=bases,
        scope=scope,
        scope_rule_ids=scope_rule_ids,
        handler_id=handler,
        official_id=official,
        process_item_of=process_item_of,
    )


KEYPOINT = BasisCase.INVOLVES_KEYPOINT
SUMMARY = BasisCase.SUMMARY
IDENTICAL = BasisCase.IDENTICAL

DERIVED = (
    # The chain: ministry -> province -> city -> county, six deep.
    _derive(
        "D-PROV-001",
        "某省贯彻落实某重点工程建设总体方案的实施意见",
        "某省发改〔2024〕31号",
        "org-province",
        date(2024, 4, 8),
        (BasisSpec("S-2024-012", KEYPOINT, ("S-2024-012.K1",)),),
        _orgs("org-province", "org-city"),
    ),
    _derive(
        "D-PROV-001-DRAFT",
        "某省贯彻落实某重点工程建设总体方案的实施意见（征求意见稿）",
        "",
        "org-province",
        date(2024, 3, 25),
        (BasisSpec("S-2024-012", KEYPOINT, ("S-2024-012.K1",)),),
        KnowledgeScope(persons=frozenset({"p-wang-fang", "p-liu-yang"})),
        process_item_of="D-PROV-001",
    ),
    _derive(
        "D-CITY-001",
        "某市重点工程建设实施细则",
        "某市发改〔2024〕57号",
        "org-city",
        date(2024, 5, 20),
        (BasisSpec("D-PROV-001", SUMMARY),),
        _orgs("org-city", "org-county"),
    ),
    _derive(
        "D-COUNTY-001",
        "某县重点工程征地工作方案",
        "某县工信〔2024〕9号",
        "org-county",
        date(2024, 6, 12),
        (BasisSpec("D-CITY-001", KEYPOINT, ("S-2024-012.K1",)),),
        _orgs("org-county"),
    ),
    _derive(
        "D-COUNTY-002",
        "某县征地补偿工作安排",
        "某县工信〔2024〕11号",
        "org-county",
        date(2024, 7, 2),
        (BasisSpec("D-COUNTY-001", SUMMARY),),
        _orgs("org-county"),
    ),
    _derive(
        "D-COUNTY-003",
        "某乡镇征地工作任务分解表",
        "某县工信〔2024〕12号",
        "org-county",
        date(2024, 7, 15),
        (BasisSpec("D-COUNTY-002", SUMMARY),),
        KnowledgeScope(persons=frozenset({"p-zhao-min", "p-huang-tao"})),
    ),
    _derive(
        "D-COUNTY-004",
        "某乡镇征地工作任务分解表（复制件）",
        "某县工信〔2024〕12号-02",
        "org-county",
        date(2024, 7, 16),
        (BasisSpec("D-COUNTY-003", IDENTICAL),),
        KnowledgeScope(persons=frozenset({"p-zhao-min", "p-huang-tao"})),
    ),
    # Two sources meet: a derived institute report on the project and the equipment, which
    # has no classification authority and still derives 绝密 (D-5).
    _derive(
        "D-INST-001",
        "重点工程配套装备技术论证报告",
        "某研院〔2024〕5号",
        "org-institute",
        date(2024, 9, 3),
        (
            BasisSpec("D-PROV-001", SUMMARY),
            BasisSpec("S-2023-007", KEYPOINT, ("S-2023-007.K1",)),
        ),
        KnowledgeScope(persons=frozenset({"p-zhou-jie"})),
    ),
    # A diamond: D-PROV-001 reaches it through D-CITY-001 and through D-INST-001.
    _derive(
        "D-INST-002",
        "重点工程与配套装备综合评估",
        "某研院〔2024〕8号",
        "org-institute",
        date(2024, 11, 18),
        (BasisSpec("D-INST-001", SUMMARY), BasisSpec("D-CITY-001", SUMMARY)),
        KnowledgeScope(persons=frozenset({"p-zhou-jie", "p-wu-xia"})),
    ),
    # Mixed case (D-15): a source and a scope-of-secrets rule.
    _derive(
        "D-PROV-002",
        "某省应急物资储备点建设计划",
        "某省发改〔2025〕8号",
        "org-province",
        date(2025, 3, 3),
        (BasisSpec("S-2025-003", SUMMARY),),
        _orgs("org-province"),
        scope_rule_ids=("SR-ENG-3",),
    ),
    # An unmarked source: the statutory ten years of 秘密 from the source's date (D-9, X-11).
    _derive(
        "D-CITY-002",
        "某专项工作落实情况报告",
        "某市发改〔2022〕88号",
        "org-city",
        date(2022, 8, 1),
        (BasisSpec("S-2022-015", SUMMARY),),
        _orgs("org-city"),
    ),
    # A condition period follows the source.
    _derive(
        "D-INST-003",
        "某试验项目测试大纲",
        "某研院〔2024〕6号",
        "org-institute",
        date(2024, 9, 20),
        (BasisSpec("S-2024-020", SUMMARY),),
        _orgs("org-institute"),
    ),
)


# Users: each person acts in its role; the bureau's officer supervises every organisation (the
# founding supervisor: on an empty store it needs no second person, there being none);
# `admin` registers organisations, persons and scope rules and reads no item; `auditor` reads
# the audit trail and no item (三员分立).
USERS = (
    NewUser("admin", frozenset({Role.ADMINISTRATOR}), name="系统管理员"),
    NewUser("auditor", frozenset({Role.AUDITOR}), name="安全审计员"),
    *(
        NewUser(person, frozenset({role}), person_id=person)
        for handler, official in DECIDERS.values()
        for person, role in ((handler, Role.HANDLER), (official, Role.OFFICIAL))
    ),
    NewUser(
        "p-sun-hong",
        frozenset({Role.SUPERVISOR}),
        person_id="p-sun-hong",
        supervises=frozenset({EVERY_ORGANISATION}),
    ),
)
DEMO_LABEL = "demo"


def load_demo(store: GraphStore) -> int:
    """Loads what is missing of the demo data set, its users included; returns how many nodes
    it wrote. Every step runs as the operator of the service (graph.access.SYSTEM)."""

    def present(tx: GraphReader) -> set[str]:
        return (
            set(tx.organisations(o.id for o in ORGANISATIONS))
            | set(tx.persons(p.id for p in PERSONS))
            | set(tx.scope_rules(r.id for r in SCOPE_RULES))
            | set(tx.items([*(s.id or "" for s in SOURCES), *(d.id or "" for d in DERIVED)]))
            | {f"user:{u}" for u in tx.users(u.id for u in USERS)}
            | set(tx.organisations([demo_inspection.BUREAU]))
            | set(tx.persons(p.id for p in demo_inspection.PERSONS))
            | set(tx.items(demo_inspection.IDS))
        )

    have = store.read(present)
    steps: list[tuple[str | None, Callable[[], object]]] = [
        *((o.id, partial(register_organisation, store, o, SYSTEM)) for o in ORGANISATIONS),
        *((p.id, partial(register_person, store, p, SYSTEM)) for p in PERSONS),
        *((r.id, partial(register_scope_rule, store, r, SYSTEM)) for r in SCOPE_RULES),
        *((s.id, partial(register_source, store, s, SYSTEM)) for s in SOURCES),
        *((d.id, partial(derive_item, store, d, SYSTEM)) for d in DERIVED),
    ]
    written = 0
    for id, step in steps:
        if id not in have:
            step()
            written += 1
    written += demo_inspection.load_inspection(store, have)
    for user in USERS:
        if f"user:{user.id}" not in have:
            add_user(store, user)
            written += 1
    return written


def demo_tokens(store: GraphStore) -> list[tuple[User, str]]:
    """A new token for each demo user, each one's earlier tokens revoked; the bearer texts are
    shown once, so every run of `lineage demo` prints a fresh set."""
    found = store.read(lambda tx: tx.users(u.id for u in USERS))
    return [
        (found[u.id], issue_token(store, u.id, label=DEMO_LABEL).bearer)
        for u in USERS
        if u.id in found and found[u.id].active
    ]
