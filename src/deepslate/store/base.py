"""The storage interface the runtime talks to.

One ``Store`` per process. Its methods are blocking and called from a single
database thread of the engine (SQLite's connection is not shared between
threads; a PostgreSQL store would hold a pool instead and may run them
concurrently). Everything a durable step changes is described by one
``Commit``; ``commit_batch`` writes many of them in one transaction, all or
nothing (DESIGN §2.2 and the group commit of §3).

Ownership (DESIGN §2.7, §4): every isolate row carries ``owner`` and
``epoch``. ``claim`` gives this node a fresh epoch and takes the isolates it
may run; every later write to an isolate row is fenced on (owner, epoch), so a
node that lost its lease cannot overwrite a newer snapshot: the whole batch is
rolled back with ``LeaseLost``. SQLite has one node; a second process opening
the same file takes everything over and fences the first one out.

What a PostgreSQL store adds behind the same interface: ``claim`` takes
unowned or expired isolates with ``FOR UPDATE SKIP LOCKED`` (and its own ones
back at once after a restart with the same node id), ``heartbeat`` extends the
lease row, ``commit_batch`` runs the batch in one transaction over a pooled
connection (pipeline mode), and ``inbox_put`` NOTIFYs the owner. The shared
operations are already stated as row changes (``queue_take`` names the item
taken), so the same commits apply; with several nodes the store, not one
engine's memory, must then decide which getter gets an item, which is that
implementation's part of the work.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple

TERMINAL = ("done", "failed", "cancelled")


def check_statuses(statuses: Iterable[str]) -> tuple[str, ...]:
    """Finished statuses to purge, checked: a non-empty selection of ``TERMINAL``."""
    if isinstance(statuses, str):
        statuses = statuses.split(",")
    out = tuple(dict.fromkeys(str(s).strip() for s in statuses))
    bad = [s for s in out if s not in TERMINAL]
    if bad or not out:
        raise ValueError(f"statuses to purge must be some of {', '.join(TERMINAL)}, not "
                         f"{', '.join(map(repr, bad)) if bad else 'none'}")
    return out


def status_flow_terms(status: str | None, flow: str | None, mark: str) -> tuple[list[str], list[Any]]:
    """WHERE terms and their arguments of the isolate lists' status and flow filters, with the
    driver's parameter ``mark`` (``?`` or ``%s``)."""
    where: list[str] = []
    args: list[Any] = []
    if status:
        where.append(f"status = {mark}")
        args.append(status)
    if flow:
        where.append(f"flow = {mark}")
        args.append(flow)
    return where, args


def contains_pattern(q: str) -> str:
    """A LIKE pattern (escape character ``\\``) matching names that contain ``q`` as typed."""
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class StoreError(Exception):
    """The store cannot be opened or written; the message says which file and why."""


class NotADeepslateStore(StoreError):
    """The file exists but is not a deepslate database."""


class StoreReadOnly(StoreError):
    """The store cannot be written (file permissions or a read-only medium)."""


class StoreFull(StoreError):
    """The disk (or the configured size limit) is full; nothing of the batch was written."""


class StoreUnavailable(StoreError):
    """The store's database server cannot be used: it is down or unreachable, refused the
    credentials, or has no such database. The message names the URL without its password."""


class DriverMissing(StoreError, ImportError):
    """The store's database driver is not installed (PostgreSQL: ``pip install 'deepslate[postgres]'``)."""


class LeaseLost(StoreError):
    """Another node took over an isolate this node was writing."""


class CommitRejected(Exception):
    """One commit holds something the store will not take (a value out of its range, a text it
    cannot encode, a take of an item it does not hold). Not a StoreError: it fails the isolate
    whose commit it is, never the engine."""


@dataclass
class IsolateRow:
    id: int
    name: str
    flow: str
    program_hash: bytes
    status: str = "running"           # running sleeping waiting done failed cancelled
    parent_id: int | None = None
    root_id: int | None = None        # the spawned isolate at the top of its create_task tree (None: itself)
    snapshot: bytes | None = None
    wake_at: float | None = None      # unix time of the pending sleep's end
    waiting_on: str = ""
    result: bytes | None = None       # encode_value of the flow's return value
    error: str | None = None          # JSON: {"message", "frames": [[fn, file, line, col]]}
    steps: int = 0                    # durable steps committed
    children: int = 0                 # child isolates created so far (names parent/1, parent/2...)
    log_seq: int = 0                  # lines printed so far
    owner: str | None = None
    epoch: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    detached: bool = False            # a create_task child that outlives its parent (else cancelled with it)
    args_hash: bytes | None = None    # digest of a spawn's arguments (None: a child, or a row from before it)


class QueueNew(NamedTuple):
    qid: int
    capacity: int          # 0: unbounded
    elem: str
    root: int              # the root isolate of the tree that made it


class QueuePut(NamedTuple):
    qid: int
    seq: int               # global put order
    data: bytes


class QueueTake(NamedTuple):
    qid: int
    seq: int


class LockNew(NamedTuple):
    lid: int
    root: int


class LockSet(NamedTuple):
    lid: int
    holder: int | None     # an isolate id, None when released


class WgNew(NamedTuple):
    wid: int
    root: int


class WgAdd(NamedTuple):
    wid: int
    delta: int             # a delta, not a count: a commit that fails leaves the others right


class IsolateNew(NamedTuple):
    row: "IsolateRow"


class ProgramPut(NamedTuple):
    hash: bytes
    body: bytes


class InboxTake(NamedTuple):
    mid: int


@dataclass
class InboxPut:
    """An inbound message for isolate ``isolate_id``, filed under its tree. The store fills in
    the outcome: ``mid`` (the message's id, or the first one's for a repeated ``key``),
    ``duplicate`` (``key`` was seen before in this tree: nothing was added) and ``gone`` (the
    isolate has finished: nothing was added)."""
    isolate_id: int
    method: str
    route: str
    body: bytes
    headers: str | None = None        # JSON object of the request headers the flow may need
    key: str | None = None            # a delivery id: a repeat within the tree lands once
    keep_seen: float = 7 * 86400.0    # for this many seconds (older ids are let go)
    mid: int = 0
    duplicate: bool = False
    gone: bool = False


# What one step changes besides its own row (``Commit.ops``), applied in order. When a commit
# ends the last live isolate of a tree (all done, cancelled, or failed with nothing to retry),
# the store deletes that tree's queues, locks and wait groups in the same transaction and sets
# ``Commit.collected`` to the root, so the engine forgets them too.
Op = (QueueNew | QueuePut | QueueTake | LockNew | LockSet | WgNew | WgAdd | IsolateNew | ProgramPut | InboxTake
      | InboxPut)


INBOX_HEAD = 256


class InboxMessage(NamedTuple):
    id: int
    isolate: str           # the name it was sent to (any isolate of the tree may take it)
    method: str
    route: str
    size: int
    head: bytes            # the body's first INBOX_HEAD bytes
    created_at: float


class IsolateSummary(NamedTuple):
    """One line of the inspector's list: an isolate without its snapshot, result or log."""
    id: int
    name: str
    flow: str
    status: str
    steps: int
    parent_id: int | None
    wake_at: float | None
    waiting_on: str
    error: str | None          # the error column as stored (JSON), for failed isolates
    created_at: float
    updated_at: float


class PageKey(NamedTuple):
    """Where a page of the list ends: the (updated_at, id) of its last isolate. The next page
    holds the isolates strictly before it in (updated_at DESC, id DESC) order, so isolates that
    update meanwhile move to the top without shifting the pages after it."""
    updated_at: float
    id: int


class StepCount(NamedTuple):
    id: int
    status: str
    steps: int
    created_at: float


@dataclass
class Commit:
    isolate_id: int
    status: str
    snapshot: bytes | None
    steps: int
    wake_at: float | None = None
    waiting_on: str = ""
    result: bytes | None = None
    error: str | None = None
    children: int = 0
    log: list[str] = field(default_factory=list)
    log_seq: int = 0                  # log_seq after these lines
    ops: list[Op] = field(default_factory=list)
    create: IsolateRow | None = None  # insert this row instead of updating (spawn)
    row: bool = True                  # False: only the ops (an inbound message), no isolate row
    keep_snapshot: bool = False       # leave the stored snapshot as it is (a failure that keeps
                                      # the last good one for retry); ``snapshot`` is then ignored
    collected: int | None = None      # set by the store: the root whose tree's objects it deleted


class Request(NamedTuple):
    """An operator request filed in the store (``deepslate cancel`` and the like)."""
    id: int
    verb: str                 # cancel retry send
    name: str                 # the isolate's name
    args: str                 # JSON object
    created_at: float
    done_at: float | None     # None while pending
    outcome: str | None       # JSON object once applied


@dataclass
class SharedState:
    """Queues, locks and wait groups as committed, loaded once at start-up."""
    queues: dict[int, tuple[int, str, list[tuple[int, bytes]]]]   # qid -> (capacity, elem, [(seq, data)])
    locks: dict[int, int | None]                                  # lid -> holder
    waitgroups: dict[int, int]                                    # wid -> count
    next_ids: dict[str, int]                                      # "isolate"/"queue"/"lock"/"wg"/"seq" -> next
    roots: dict[tuple[str, int], int] = field(default_factory=dict)  # ("queue"|"lock"|"wg", id) -> root


class Store(abc.ABC):
    path: str

    @abc.abstractmethod
    def store_id(self) -> str:
        """A random id the store got when it was created (part of idempotency keys)."""

    @abc.abstractmethod
    def claim(self, node_id: str) -> int:
        """Take the unfinished isolates this node may run under a new lease epoch; returns it."""

    @abc.abstractmethod
    def heartbeat(self, node_id: str, epoch: int) -> None:
        """Extend this node's lease; raise LeaseLost if another node took over."""

    @abc.abstractmethod
    def load_unfinished(self, node_id: str, epoch: int) -> list[IsolateRow]: ...

    @abc.abstractmethod
    def load_shared(self) -> SharedState: ...

    @abc.abstractmethod
    def commit_batch(self, node_id: str, epoch: int, commits: list[Commit]) -> None:
        """Write every commit in one transaction, fenced on (node_id, epoch); all or nothing."""

    @abc.abstractmethod
    def get_program(self, hash: bytes) -> bytes | None: ...

    @abc.abstractmethod
    def get_isolate(self, name: str) -> IsolateRow | None: ...

    @abc.abstractmethod
    def get_isolate_by_id(self, id: int) -> IsolateRow | None: ...

    @abc.abstractmethod
    def list_isolates(self, status: str | None = None, flow: str | None = None, q: str | None = None,
                      limit: int = 100, offset: int = 0) -> list[IsolateRow]: ...

    @abc.abstractmethod
    def count_isolates(self) -> dict[str, int]: ...

    @abc.abstractmethod
    def page_isolates(self, *, status: str | None = None, flow: str | None = None, q: str | None = None,
                      before: PageKey | None = None, limit: int = 50) -> list[IsolateSummary]:
        """Up to ``limit`` isolates, most recently updated first (ties: higher id first), strictly
        after ``before`` in that order; filtered by status, flow and a substring ``q`` of the name."""

    @abc.abstractmethod
    def flow_names(self) -> list[str]:
        """The flows isolates of this store run, sorted."""

    @abc.abstractmethod
    def updated_since(self, since: float) -> list[StepCount]:
        """The isolates whose row was written at or after ``since`` (unix time), with their steps."""

    @abc.abstractmethod
    def children_of(self, id: int) -> list[str]: ...

    @abc.abstractmethod
    def read_log(self, isolate_id: int, limit: int = 100) -> list[str]: ...

    @abc.abstractmethod
    def orphans(self, parent_id: int | None = None) -> list[IsolateRow]:
        """Attached children that may still run (running, sleeping, waiting, or failed keeping
        their snapshot) whose parent has ended for good (done, cancelled, or failed with nothing
        to retry): of ``parent_id``, or of any parent when None. They are to be cancelled."""

    @abc.abstractmethod
    def mark_failed(self, node_id: str, epoch: int, isolate_id: int, error: str) -> None:
        """Mark one isolate failed outside a step (a snapshot that cannot be loaded), releasing
        the locks it held."""

    @abc.abstractmethod
    def adopt_failed(self, node_id: str, epoch: int, isolate_id: int, status: str,
                     updated_at: float | None = None) -> bool:
        """Take a failed isolate that kept its snapshot into this node's lease and set its
        status (``running`` for a retry, ``cancelled``), in one conditional write: of two
        concurrent callers exactly one gets True. With ``updated_at``, only if the row's
        ``updated_at`` is still exactly that (the failure the caller saw)."""

    @abc.abstractmethod
    def inbox_put(self, isolate_id: int, method: str, route: str, body: bytes, *, headers: str | None = None,
                  key: str | None = None) -> InboxPut:
        """Commit one inbound message on its own transaction (the engine batches them through
        ``commit_batch`` instead); returns the ``InboxPut`` with its outcome filled in."""

    @abc.abstractmethod
    def inbox_peek(self, root_id: int, method: str, route: str,
                   skip: tuple[int, ...] = ()) -> tuple[int, bytes] | None:
        """The oldest message of the tree rooted at ``root_id`` for (method, route), leaving
        out the ids in ``skip`` (taken by a step not yet durable)."""

    @abc.abstractmethod
    def inbox_list(self, root_id: int, limit: int = 50) -> list[InboxMessage]:
        """The messages waiting in the tree rooted at ``root_id``'s inbox, oldest first, each
        with the first ``INBOX_HEAD`` bytes of its body (for display)."""

    @abc.abstractmethod
    def storage_bytes(self, isolate_id: int) -> int:
        """Bytes this isolate occupies (snapshot, result, log), for the benchmarks."""

    # -- operations (retention, requests from other processes); not every store has them --------

    def purge(self, statuses: Iterable[str], before: float, limit: int, *, dry_run: bool = False,
              report: dict[str, Any] | None = None) -> int:
        """Delete up to ``limit`` finished trees (a spawned isolate and all its create_task
        descendants) in one transaction, each only when every isolate of it has a status in
        ``statuses`` and ended before ``before``; with them everything they own (log,
        inbox, delivery ids, queues, locks, wait groups) and the programs no isolate uses any
        more. Returns the number of isolates deleted (0: nothing left to purge). ``dry_run``
        rolls the transaction back. ``report``, when given, is filled with the count of rows
        per kind and ``roots``, the ids of the trees' roots."""
        wanted = check_statuses(statuses)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"purge limit must be a positive int, not {limit!r}")
        counts = self._purge_trees(wanted, float(before), limit, dry_run)
        if report is not None:
            report.update(counts)
        return int(counts["isolates"])

    def _purge_trees(self, wanted: tuple[str, ...], before: float, limit: int, dry_run: bool) -> dict[str, Any]:
        """``purge``'s transaction (rolled back for a dry run): rows per kind, and ``roots``. A
        tree goes whole or not at all: a child never vanishes under a root (or a detached
        sibling) that still runs, and an ended tree leaves nothing behind."""
        raise NotImplementedError(f"{type(self).__name__} cannot purge isolates")

    def file_request(self, verb: str, name: str, args: str) -> int:
        """File an operator request (``args``: a JSON object) for the engine that holds the
        store; returns its id."""
        raise NotImplementedError(f"{type(self).__name__} takes no requests")

    def pending_requests(self, limit: int) -> list[Request]:
        """The oldest requests not yet applied."""
        raise NotImplementedError(f"{type(self).__name__} takes no requests")

    def finish_request(self, request_id: int, outcome: str) -> None:
        """Record a request's outcome (a JSON object) and when it was applied."""
        raise NotImplementedError(f"{type(self).__name__} takes no requests")

    def get_request(self, request_id: int) -> Request | None:
        raise NotImplementedError(f"{type(self).__name__} takes no requests")

    def leases(self) -> list[tuple[str, float]]:
        """(node id, lease end as unix time) of every node that ever held the store."""
        raise NotImplementedError(f"{type(self).__name__} cannot list leases")

    def release(self, node_id: str, epoch: int) -> None:
        """End this node's lease now (a clean stop), if it still holds it at ``epoch``."""

    @abc.abstractmethod
    def close(self) -> None: ...
