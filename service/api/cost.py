"""What a request may cost, known before anything runs (issue 21, point 5).

Each field costs what it does itself (`own`), plus, for each of the objects it may return
(`times`: a page of `first` entries, a lineage to `depth` steps, a form of several records),
one for the object and what its selections cost. The bounds come from the arguments alone,
never from the data: the size of a lineage is not known before it is traversed, so it is
counted at the most the service is built to answer whole. A request whose cost passes
`LINEAGE_MAX_QUERY_COST` is refused before anything runs (service.api.measure computes it,
each fragment once).

The unit is the time of one object of an answer resolved field by field: 17 µs on the
benchmark machine (`bench/abuse.py weights`, BENCHMARKS.md), so that the default budget of
100,000 is a couple of seconds of work. A field of scalars costs nothing of its own; an
object costs 1; a list multiplies what its entries cost by its bound. A bound taken from an
argument multiplies everything beneath the field that takes it (a page's `pageInfo` too, a
small overcount), so that a fragment costs the same wherever it is spread, and is measured
once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)

from service.usecases import MAX_PAGE

Args = Mapping[str, object]
Count = Callable[[Args], int]

# --- the bounds, each with its reason ---------------------------------------------------------

# A lineage asked for without `depth`: the service is built to answer a lineage of ten
# thousand nodes whole (issue 8); a larger one costs more than counted, and its store calls
# stay bounded by LINEAGE_QUERY_TIMEOUT_SECONDS.
REACH = 10_000
# Nodes one more step of `depth` may add, on each side: realistic lineages (bench/lineages.py)
# have two to four children an item, and a few bases; 8 stays above them.
STEP = 8
# The edges of a lineage, per node: a derived item has one to three bases.
EDGES_PER_NODE = 2
# What an item holds: its keypoints, bases, scope rules, records; a record's bases; an
# explanation's contributions. The demo's items hold one to four; ten leaves room.
SMALL = 10
# One read of the store by id, or one batched read of a DataLoader: a transaction, a query.
READ = 2
# A read that goes over every item the caller may read: the D-21 audit, reminders, the
# catalogue, the annual statistics. They take about what a whole lineage takes.
SCAN = REACH
# A write: its checks, one transaction, its audit event (about 2 ms here).
WRITE = 100
# The organisations of a deployment, for the annual statistics (one row each).
ORGANISATIONS = 1_000
# A directory read whole and filtered in memory (service.picklists): a thousand organisations,
# persons or users, a few milliseconds, as the actor of every request reads them.
DIRECTORY = 100
# The rules run for one derived item, with the reads of its bases (an explanation).
RULES = 5
# Measured per node of a lineage (`bench/abuse.py weights`, BENCHMARKS.md), in units: laid out
# (service.views: layers, order, positions, with the traversal) 1.2-1.6; written out on top
# of that, as GraphML 4.6-4.9 (an XML tree), as JSON 2.0 (indented), as DOT or Mermaid 0.2-0.3.
LAYOUT = 2
EXPORT = {"GRAPHML": 5, "JSON": 2, "MERMAID": 1, "DOT": 1}
# A workbook of one small sheet: openpyxl writes its styles and parts into a zip, 28 ms here
# for a sheet of three rows (timeit over 50), more than a PDF.
XLSX_FORM = 1_600
# A form: its PDF is typeset, 8-16 ms for one record (480-950 units, the machine idle or
# busy), and a millisecond more for each row of a form of several; HTML and CSV are a page of
# text (1.1-1.3 units).
FORM = {"pdf": 1_000, "html": 2, "csv": 2, "xlsx": XLSX_FORM}
FORM_ROW = 60
# Each value a client sends in its variables is coerced by graphql-core before anything runs,
# in Python, one by one (4 µs an id, 16 µs an input object, 36 µs a wrong one with its error):
# each element or field of a value costs a unit.
INPUT_VALUE = 1


@dataclass(frozen=True)
class Weight:
    """What a field costs itself, and what multiplies the cost of its selections."""

    own: int | Count = 1
    times: int | Count = 1

    def of(self, args: Args) -> tuple[int, int]:
        own = self.own(args) if callable(self.own) else self.own
        times = self.times(args) if callable(self.times) else self.times
        return max(own, 0), max(times, 0)

    @property
    def needs_arguments(self) -> bool:
        return callable(self.own) or callable(self.times)


def page(default: int) -> Count:
    """The entries of one page: `first`, at most MAX_PAGE (larger pages are refused by the
    resolver, which then costs nothing more)."""

    def count(args: Args) -> int:
        first = args.get("first", default)
        return min(first, MAX_PAGE) if isinstance(first, int) and first > 0 else MAX_PAGE

    return count


def reach(args: Args) -> int:
    """The nodes a lineage to `depth` steps may hold: STEP^depth on each side it goes (both
    for BOTH) and its root, at most REACH; without `depth`, REACH."""
    depth = args.get("depth")
    if not isinstance(depth, int) or depth < 0:
        return REACH
    sides = 1 if args.get("direction") in ("UPSTREAM", "DOWNSTREAM") else 2
    return min(REACH, 1 + sides * int(STEP ** min(depth, 10)))


def laid_out(args: Args) -> int:
    return READ + reach(args) * LAYOUT


def exported(args: Args) -> int:
    written = EXPORT.get(str(args.get("format")), max(EXPORT.values()))
    return READ + reach(args) * (LAYOUT + written)


def listed(name: str, within: str | None = None) -> Count:
    """As many as the list argument `name` (of the input object `within`) holds, at least one."""

    def count(args: Args) -> int:
        value = args.get(within) if within else args
        found = value.get(name) if isinstance(value, Mapping) else None
        return max(1, len(found)) if isinstance(found, list) else SMALL

    return count


# --- the fields -----------------------------------------------------------------------------

# Every root field, and every field that returns a list of objects, is here
# (tests/unit/test_cost.py checks it against the schema). A connection's page is counted at
# the field that takes `first`, so its `edges` count once.
WEIGHTS: dict[str, Weight] = {
    # Reads of one thing by id.
    "Query.item": Weight(own=READ),
    "Query.keypoint": Weight(own=READ),
    "Query.scopeRule": Weight(own=READ),
    "Query.organisation": Weight(own=READ),
    "Query.notice": Weight(own=READ),
    "Query.change": Weight(own=READ),
    "Query.me": Weight(own=READ),
    # Pages: one indexed read, each entry of the page.
    "Query.items": Weight(own=READ, times=page(50)),
    "Query.notices": Weight(own=READ, times=page(50)),
    "Query.proposals": Weight(own=READ, times=page(50)),
    "Query.dueForReview": Weight(own=READ, times=page(50)),
    "Query.auditTrail": Weight(own=READ, times=page(50)),
    # Pick lists (service.picklists): organisations, persons and users read whole and
    # filtered in memory, a directory of a thousand rows or so; scope rules by the store.
    "Query.organisations": Weight(own=DIRECTORY, times=page(50)),
    "Query.persons": Weight(own=DIRECTORY, times=page(50)),
    "Query.decisionMakers": Weight(own=DIRECTORY, times=page(50)),
    "Query.users": Weight(own=DIRECTORY, times=page(50)),
    "Query.roles": Weight(own=0, times=page(50)),
    "Query.scopeRules": Weight(own=READ, times=page(50)),
    "OrganisationConnection.edges": Weight(own=0),
    "PersonConnection.edges": Weight(own=0),
    "UserConnection.edges": Weight(own=0),
    "RoleOptionConnection.edges": Weight(own=0),
    "ScopeRuleConnection.edges": Weight(own=0),
    "ItemConnection.edges": Weight(own=0),
    "NoticeConnection.edges": Weight(own=0),
    "ProposalConnection.edges": Weight(own=0),
    "AuditEventConnection.edges": Weight(own=0),
    "AuditFindingConnection.edges": Weight(own=0),
    "ImpactEntryConnection.edges": Weight(own=0),
    "GrantConnection.edges": Weight(own=0),
    "ReminderGroupConnection.edges": Weight(own=0),
    # A count by the store (a COUNT, no row read), asked for only when selected; beneath the
    # page's bound, which multiplies it as it does `pageInfo`.
    "ItemConnection.totalCount": Weight(own=READ),
    "NoticeConnection.totalCount": Weight(own=READ),
    "ProposalConnection.totalCount": Weight(own=READ),
    "AuditEventConnection.totalCount": Weight(own=READ),
    # Over every item the caller may read, then a page or a list of what they found.
    "Query.auditFindings": Weight(own=SCAN, times=page(50)),
    "Query.reminders": Weight(own=SCAN),
    "ReminderGroup.items": Weight(own=0, times=REACH),
    "Query.reminderGroups": Weight(own=SCAN, times=page(50)),
    "ReminderGroup.dueItems": Weight(own=0, times=page(50)),
    "Query.declassifiedCatalogue": Weight(own=SCAN),
    "DeclassifiedCatalogue.entries": Weight(own=0, times=REACH),
    "Query.annualStatistics": Weight(own=SCAN),
    "AnnualStatistics.organisations": Weight(own=0, times=ORGANISATIONS),
    "OrganisationYear.declassifiedByReason": Weight(own=0, times=SMALL),
    # Lineages: traversed to `depth`; every node (and its edges) counts once per object.
    "Query.lineage": Weight(own=reach, times=reach),
    "Lineage.nodes": Weight(own=0),
    "Lineage.edges": Weight(own=0, times=EDGES_PER_NODE),
    "Lineage.citations": Weight(own=0, times=EDGES_PER_NODE),
    "Query.lineageGraph": Weight(own=laid_out),
    "Query.lineageExport": Weight(own=exported),
    # The dry run computes every descendant, whatever the page of `impacts` read.
    "Query.impactAnalysis": Weight(own=REACH),
    # Previews of decisions: the dry run with the decision's checks, on the same fan-out.
    "Query.changeImpact": Weight(own=REACH),
    "Query.declassifyImpact": Weight(own=REACH),
    "Query.applyNoticeImpact": Weight(own=REACH),
    "Query.addBasisImpact": Weight(own=RULES + REACH),
    "Query.removeBasisImpact": Weight(own=RULES + REACH),
    "ImpactAnalysis.impacts": Weight(own=0, times=page(100)),
    "ImpactAnalysis.entries": Weight(own=0, times=page(50)),
    # The counts per holding organisation, and one read of their names.
    "ImpactAnalysis.byOrganisation": Weight(own=READ, times=ORGANISATIONS),
    # The expiry run on a date to come, rolled back: every item that ends by then, each
    # fanned out; then a page of what it declassifies, and of the notices (their names read).
    "Query.expiryPreview": Weight(own=SCAN + REACH),
    "ExpiryPreview.expirations": Weight(own=0, times=page(50)),
    "ExpiryPreview.notices": Weight(own=READ, times=page(50)),
    "ExpirationConnection.edges": Weight(own=0),
    "ExpiryNoticeConnection.edges": Weight(own=0),
    # Forms: one form, a row for each record; each format made only if asked.
    "Query.reviewForm": Weight(own=lambda args: READ + FORM_ROW * listed("recordIds")(args)),
    "Query.recordForm": Weight(own=READ),
    "PrintedForm.html": Weight(own=FORM["html"]),
    "PrintedForm.csv": Weight(own=FORM["csv"]),
    "PrintedForm.pdf": Weight(own=FORM["pdf"]),
    "PrintedForm.xlsx": Weight(own=FORM["xlsx"]),
    # The register reads every item the caller may read; the impact list's workbook writes a
    # row for every descendant the dry run found.
    "Query.registerSheet": Weight(own=SCAN),
    "RegisterSheet.xlsx": Weight(own=SCAN),
    "ImpactAnalysis.xlsx": Weight(own=REACH),
    # What an item holds: each one batched read for all items of the answer.
    "Item.keypoints": Weight(own=READ, times=SMALL),
    "Item.bases": Weight(own=READ, times=SMALL),
    "Item.scopeRules": Weight(own=READ, times=SMALL),
    "Item.records": Weight(own=READ, times=SMALL),
    "Item.explanation": Weight(own=RULES),
    "Explanation.contributions": Weight(own=0, times=SMALL),
    "Record.bases": Weight(own=0, times=SMALL),
    "Change.keypointsBefore": Weight(own=0, times=SMALL),
    "Change.keypointsAfter": Weight(own=0, times=SMALL),
    "ImpactAnalysis.keypointsAfter": Weight(own=0, times=SMALL),
    # Writes. A change fans out to every descendant: one notice each, in one transaction.
    "Mutation.registerOrganisation": Weight(own=WRITE),
    "Mutation.recordSuccession": Weight(own=WRITE),
    "Mutation.registerPerson": Weight(own=WRITE),
    "Mutation.registerScopeRule": Weight(own=WRITE),
    "Mutation.registerSource": Weight(own=WRITE),
    "Mutation.deriveItem": Weight(own=WRITE + RULES),
    "Mutation.acknowledgeNotice": Weight(own=WRITE),
    "Mutation.applyNotice": Weight(own=WRITE + RULES),
    "Mutation.proposeChange": Weight(own=WRITE),
    "Mutation.recordReview": Weight(own=WRITE, times=listed("itemIds", "input")),
    "ReviewRecorded.records": Weight(own=0),
    "Mutation.changeClassification": Weight(own=WRITE + REACH),
    "Mutation.declassify": Weight(own=WRITE + REACH),
    # A correction of the lineage: the rules of one item, and a change's fan-out where it moves.
    "Mutation.addBasis": Weight(own=WRITE + RULES + REACH),
    "Mutation.removeBasis": Weight(own=WRITE + RULES + REACH),
    "LineageCycle.path": Weight(own=0, times=SMALL),
    "Mutation.recordCitation": Weight(own=WRITE),
    "ChangeCommitted.notices": Weight(own=0, times=REACH),
    # Requests that widen reading (service.grants): read one, or the pending ones, a few for
    # each organisation at the most; deciding one is a write.
    "Query.grant": Weight(own=READ),
    "Query.pendingGrants": Weight(own=SCAN),
    "GrantList.grants": Weight(own=0, times=ORGANISATIONS),
    "Query.grantsToDecide": Weight(own=SCAN, times=page(50)),
    "Mutation.approveGrant": Weight(own=WRITE),
    "Mutation.rejectGrant": Weight(own=WRITE),
    # Users and tokens (service.administration): one by id, a user's tokens (a page of a few);
    # each change is a write.
    "Query.user": Weight(own=READ),
    "User.tokens": Weight(own=READ, times=page(50)),
    "TokenConnection.edges": Weight(own=0),
    "Mutation.addUser": Weight(own=WRITE),
    "Mutation.grantRole": Weight(own=WRITE),
    "Mutation.removeRole": Weight(own=WRITE),
    "Mutation.issueToken": Weight(own=WRITE),
    "Mutation.revokeToken": Weight(own=WRITE),
    "Mutation.deactivateUser": Weight(own=WRITE),
    # A subscription: what each notice sent costs.
    "Subscription.noticesIssued": Weight(own=READ),
}


# Lists of objects that grow with the graph and are still answered whole, by design: each is
# one document a client reads as a whole (README, "API conventions"). Every other list of
# what the graph holds is a connection (tests/e2e/test_conventions.py checks it).
WHOLE: dict[str, str] = {
    "DeclassifiedCatalogue.entries": "the catalogue published as one document (X-24), as its CSV",
    "AnnualStatistics.organisations": "one report (X-26), a row per organisation, as its CSV",
    "ChangeCommitted.notices": "what one decision sent, in its answer; notices(filter: "
    "{changeId}) pages through them",
    "ImpactAnalysis.byOrganisation": "a summary of one analysis, a line per holding "
    "organisation, as AnnualStatistics.organisations",
}


def introspection(schema: GraphQLSchema) -> dict[str, Weight]:
    """The lists of the schema's own description, by its sizes: `types` as many as it has,
    the lists of a type as many as a type has on average (nested, they multiply to the
    schema's totals, and a deeper nesting is counted as the growing answer it is)."""
    named = [t for n, t in schema.type_map.items() if not n.startswith("__")]
    with_fields = [t for t in named if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]

    def mean(values: list[int]) -> int:
        return max(1, -(-sum(values) // max(1, len(values))))

    fields = [f for t in with_fields for f in t.fields.values()]
    return {
        "__Schema.types": Weight(own=0, times=len(named)),
        "__Schema.directives": Weight(own=0, times=len(schema.directives)),
        "__Type.fields": Weight(own=0, times=mean([len(t.fields) for t in with_fields])),
        "__Type.inputFields": Weight(own=0, times=SMALL),
        "__Type.enumValues": Weight(own=0, times=SMALL),
        "__Type.interfaces": Weight(own=0, times=SMALL),
        "__Type.possibleTypes": Weight(own=0, times=SMALL),
        "__Field.args": Weight(own=0, times=mean([len(f.args) for f in fields])),
        "__Directive.args": Weight(own=0, times=SMALL),
    }


class CostModel:
    """The weights of one schema's fields: WEIGHTS, its description's lists, and the rule for
    the rest: a scalar costs nothing, an object 1, a list not in the table SMALL entries."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self._weights = {**introspection(schema), **WEIGHTS}

    def weight(self, parent: str, name: str, field: GraphQLField) -> tuple[Weight, int]:
        """The field's weight, and what each object it returns costs by itself (1, or 0 for
        scalars)."""
        entry = 0 if is_leaf_type(get_named_type(field.type)) else 1
        found = self._weights.get(f"{parent}.{name}")
        if found is not None:
            return found, entry
        if entry and is_list_type(get_nullable_type(field.type)):
            return UNLISTED, entry
        return NOTHING, entry


@lru_cache(maxsize=8)
def cost_model(schema: GraphQLSchema) -> CostModel:
    """The model of a schema, made once."""
    return CostModel(schema)


NOTHING = Weight(own=0)
UNLISTED = Weight(own=0, times=SMALL)


def unlisted(schema: GraphQLSchema) -> list[str]:
    """Root fields, and fields that return lists of objects, that WEIGHTS leaves out."""
    missing = []
    roots = {schema.query_type, schema.mutation_type, schema.subscription_type}
    for name, kind in schema.type_map.items():
        if name.startswith("__") or not isinstance(kind, GraphQLObjectType):
            continue
        for field_name, field in kind.fields.items():
            listing = is_list_type(get_nullable_type(field.type)) and not is_leaf_type(
                get_named_type(field.type)
            )
            key = f"{name}.{field_name}"
            if (kind in roots or listing) and key not in WEIGHTS:
                missing.append(key)
    return missing
