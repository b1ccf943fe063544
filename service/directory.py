"""The identity provider's groups, and what they leave a user of this service.

A security office keeps the register of who holds which duty here, in the service: users and
their roles are appointed with `lineage users`, and a supervisor's reading is granted by a
second supervisor (graph.grant, the two-person rule). The directory (Keycloak, AD) is run by
other people, usually IT staff outside 三员分立. So its groups may only narrow what a user
holds, never widen it: a JWT's roles are those the user holds in the store AND those its
groups map to, for a group whose organisation (if it names one) is that of the user's person.
Leaving a group in the directory takes the role away at the user's next token; joining one
gives nothing the service's own register has not given. A group naming the supervisor, the
administrator or the auditor therefore appoints no one: the role still comes only through
`lineage users` and, for a supervisor, a second supervisor's approval.

A token whose groups leave the user no role is refused: a user the directory has taken out
of every group it knows of should not sign in at all (its person would still read what a
knowledge scope gives it by name).

LINEAGE_OIDC_GROUP_MAP, as JSON or the path of a JSON file:

    {"保密办-审核": {"roles": ["supervisor"], "organisation": "org-secrecy"},
     "县工信局-承办": {"roles": ["handler"], "organisation": "org-county"},
     "系统管理员": {"roles": ["administrator"]}}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from graph.access import Role, check_duties
from graph.errors import InvalidValue

SETTING = "LINEAGE_OIDC_GROUP_MAP"
_KEYS = frozenset({"roles", "organisation"})


@dataclass(frozen=True)
class Group:
    roles: frozenset[Role]
    organisation_id: str | None = None


@dataclass(frozen=True)
class GroupMap:
    """The groups the service knows by name, and the claim that lists a token's groups."""

    groups: Mapping[str, Group]
    claim: str = "groups"

    def roles(self, claims: Mapping[str, Any], organisation_id: str | None) -> frozenset[Role]:
        """The roles a token's groups allow a user whose person is of `organisation_id`."""
        named = claims.get(self.claim)
        if isinstance(named, str):
            named = [named]
        if not isinstance(named, list):
            return frozenset()
        allowed: set[Role] = set()
        for name in named:
            group = self.groups.get(name) if isinstance(name, str) else None
            if group is not None and group.organisation_id in (None, organisation_id):
                allowed |= group.roles
        return frozenset(allowed)


def group_map(value: str, claim: str = "groups") -> GroupMap:
    """The map the setting describes, or InvalidValue naming what is wrong in it."""
    text = value.strip()
    if not text.startswith("{"):
        try:
            text = Path(text).expanduser().read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidValue(
                SETTING,
                f"{SETTING} 既不是 JSON 对象，也不是可读的文件（{text}：{error.strerror}）。",
            ) from None
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise InvalidValue(SETTING, f"{SETTING} 不是有效的 JSON（{error}）。") from None
    if not isinstance(raw, dict) or not raw:
        raise InvalidValue(SETTING, f"{SETTING} 应为以用户组名为键的非空 JSON 对象。")
    return GroupMap({name: _group(name, entry) for name, entry in raw.items()}, claim)


def _group(name: str, entry: Any) -> Group:
    where = f"{SETTING} 中的用户组「{name}」"
    if not isinstance(entry, dict) or not set(entry) <= _KEYS:
        raise InvalidValue(
            SETTING, f'{where}应为 {{"roles": [...], "organisation": "..."}}（后者可省略）。'
        )
    names = entry.get("roles")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise InvalidValue(SETTING, f"{where}须以非空列表 roles 列出角色。")
    roles: set[Role] = set()
    for role in names:
        try:
            roles.add(Role(role.upper()))
        except ValueError:
            known = "、".join(r.value.lower() for r in Role)
            raise InvalidValue(SETTING, f"{where}的角色「{role}」未知：应为 {known}。") from None
    try:
        check_duties(frozenset(roles))
    except InvalidValue as error:
        raise InvalidValue(SETTING, f"{where}：{error}") from None
    organisation = entry.get("organisation")
    if organisation is not None and (not isinstance(organisation, str) or not organisation):
        raise InvalidValue(SETTING, f"{where}的 organisation 应为机关、单位的编号。")
    return Group(frozenset(roles), organisation)
