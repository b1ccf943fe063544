"""What an actor may do, checked inside the use case's own transaction: roles, acting in one's
own name, the knowledge scope of what one reads (D-10), and the two persons of a decision,
the handler who drafts and the official who decides (D-11, D-13, X-17). A refusal says what
is missing, never what an item it may not read holds."""

from __future__ import annotations

from collections.abc import Sequence

from graph.access import Actor, Role
from graph.errors import AccessDenied, NotVisible, UnknownId
from graph.model import Item
from graph.store.base import GraphReader
from service.accounts import roles_of


def require_role(actor: Actor, role: Role, *others: Role) -> None:
    """The actor holds `role` or one of `others`."""
    wanted = (role, *others)
    if any(actor.has(r) for r in wanted):
        return
    names = "或".join(r.label for r in wanted)
    raise AccessDenied(
        "ROLE:" + "|".join(r.value for r in wanted),
        f"需要{names}角色：用户「{actor.user_id}」没有该角色。",
    )


def acting_person(actor: Actor, named: str | None, what: str) -> str:
    """The person a step is recorded under: the actor's own. Naming another person is
    refused: no one decides, acknowledges or proposes in another's name."""
    if actor.system:
        if named is None:
            raise AccessDenied("PERSON", f"请指明{what}。")
        return named
    if actor.person_id is None:
        raise AccessDenied("PERSON", f"用户「{actor.user_id}」不对应任何人员，不能作为{what}。")
    if named is not None and named != actor.person_id:
        raise AccessDenied(
            "ACT_AS_SELF",
            f"只能以本人身份作为{what}：当前用户对应人员「{actor.person_id}」，而不是「{named}」。",
        )
    return actor.person_id


def deciding_official(actor: Actor, named: str | None) -> str:
    """The classification official of a decision is the actor, who must hold the role (D-6)."""
    require_role(actor, Role.OFFICIAL)
    return acting_person(actor, named, "定密责任人")


def require_handler(tx: GraphReader, actor: Actor, handler_id: str) -> None:
    """The handler named for a decision holds the handler role (D-11, X-17). The command line
    acts for the operator and records what it is given."""
    if actor.system:
        return
    if Role.HANDLER not in roles_of(tx, [handler_id]).get(handler_id, frozenset()):
        raise AccessDenied(
            "HANDLER_ROLE",
            f"「{handler_id}」不是登记的承办人：承办人应为具有承办人角色的本单位人员"
            "（D-11, X-17）。",
            ("D-11", "X-17"),
        )


def readable_items(tx: GraphReader, actor: Actor, ids: Sequence[str]) -> dict[str, Item]:
    """The items named, each of which the actor may read; one that does not exist and one
    outside its knowledge scope are refused alike (NotVisible)."""
    found = tx.items(ids)
    for id in ids:
        item = found.get(id)
        if item is None:
            raise UnknownId("item", id) if actor.system else NotVisible("item", id)
        if not actor.can_read(item):
            raise NotVisible("item", id)
    return found


def readable_item(tx: GraphReader, actor: Actor, id: str) -> Item:
    return readable_items(tx, actor, [id])[id]
