"""Validate the claims of concurrent requests together, as one batch of the fast engine.

The fast engine's cost is mostly per batch, not per claim: each of the 46 rule queries is parsed,
planned and run once per batch (about 13 ms for a batch of one claim, about 1 ms more per extra
claim). A service that validates each `POST /validate` on its own pays the per-batch cost for
every request. The coalescer lets requests that arrive while a batch is being validated wait,
then validates all of them as the next batch: under load, batches grow by themselves; a lone
request is validated at once, with no timer and no added latency (the "group commit" of
databases).

One waiting request thread at a time leads: it takes the queued requests as a batch, has it
validated, hands each request its reports, and repeats until its own request is answered; then
the oldest waiting request, if any, leads. As one batch runs at a time, all batches share one
fast-engine workspace, however many request threads lead in turn.

Two requests only share a batch when their claims share no node: the fast engine puts a batch in
one store, so a claim that names a node another request's claim describes (the same claim id, a
line pointing at someone else's diagnosis) would see that claim's facts. A request whose claims
touch the batch's nodes waits for a later batch, unless its claims are exactly those of a request
in the batch (a resubmission, a retry): then it gets that request's reports, validated once. If a
batch fails, each of its requests is validated alone, so one request's failure is reported to that
request only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from server.claims.graph import ClaimGraph
from server.validation.engine import ClaimReport, Report, Validator
from server.validation.fast import FastValidator, Workspace, report_graph


def claim_nodes(claim: ClaimGraph) -> tuple[set[str], set[str]]:
    """(the nodes the claim graph describes, the other nodes it points to), as N-Triples tokens.

    A claim graph's subjects are its claim node and the nodes it links (server.claims.graph.split);
    every IRI or blank-node object is a node it points to (codes and vocabulary terms among them,
    which no claim graph describes).
    """
    subjects: set[str] = set()
    objects: set[str] = set()
    text = claim.ntriples
    if text is not None:
        for line in text.splitlines():
            s, _p, rest = line.split(" ", 2)
            subjects.add(s)
            o = rest[:-2]
            if o[:1] == "<" or o[:2] == "_:":
                objects.add(o)
    else:
        for t in claim.triples:
            subjects.add(str(t.subject))
            if not hasattr(t.object, "datatype"):  # not a literal
                objects.add(str(t.object))
    return subjects, objects - subjects


@dataclass(eq=False)
class _Request:
    claims: list[ClaimGraph]
    subjects: set[str]
    objects: set[str]
    key: tuple[frozenset[str], ...] | None  # the claims' N-Triples lines, to recognise a request made twice
    wake: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    reports: list[ClaimReport] | None = None
    error: BaseException | None = None
    twin: _Request | None = None  # a request in the same batch with the same claims

    @property
    def answered(self) -> bool:
        return self.reports is not None or self.error is not None


class Coalescer:
    """`validate(claims)` for many threads at once; concurrent calls share one fast-engine batch.

    `max_claims` bounds a shared batch (a request larger than that is validated on its own thread,
    in chunks of that size). `batches` and `requests` count what was validated, for tests and the
    bench.
    """

    def __init__(self, validator: Validator, max_claims: int = 250) -> None:
        self.validator = validator
        self.max_claims = max_claims
        self._lock = threading.Lock()
        self._queue: list[_Request] = []
        self._leading = False
        self._workspace: Workspace | None = None  # used by one leader at a time
        self.batches = 0
        self.requests = 0

    def validate(self, claims: list[ClaimGraph]) -> list[ClaimReport]:
        """The reports of `claims`, in order; exactly what `validator.validate(claims)` gives."""
        if not claims:
            return []
        if len(claims) > self.max_claims:
            return [r for start in range(0, len(claims), self.max_claims)
                    for r in self.validator.validate(claims[start:start + self.max_claims]).claims]
        subjects: set[str] = set()
        objects: set[str] = set()
        for claim in claims:
            s, o = claim_nodes(claim)
            subjects |= s
            objects |= o
        texts = [c.ntriples for c in claims]
        # the claims' triples as sets: a claim read twice may come out in another line order
        key = tuple(frozenset(t.splitlines()) for t in texts) if all(t is not None for t in texts) else None  # type: ignore[union-attr]
        request = _Request(claims, subjects, objects - subjects, key)
        with self._lock:
            self._queue.append(request)
            if not self._leading:  # nobody validates now: this thread does, at once
                self._leading = request.leads = True
        if not request.leads:
            request.wake.wait()  # answered, or asked to lead
        if request.leads:
            try:
                while not request.answered:
                    with self._lock:
                        batch = self._take()
                    self._run(batch)
            finally:
                with self._lock:
                    if self._queue:
                        self._queue[0].leads = True
                        self._queue[0].wake.set()
                    else:
                        self._leading = False
        if request.error is not None:
            raise request.error
        assert request.reports is not None
        return request.reports

    def report(self, claims: list[ClaimGraph]) -> Report:
        """validate() as a Report; its SHACL graph is built only when asked for (the fast engine's)."""
        reports = self.validate(claims)
        return Report(reports, lambda: report_graph(reports, self.validator.compilation))  # type: ignore[attr-defined]

    def _take(self) -> list[_Request]:
        """The oldest queued requests that fit in one batch without sharing a node (lock held)."""
        batch: list[_Request] = []
        described: set[str] = set()
        named: set[str] = set()
        size = 0
        kept: list[_Request] = []
        keys: dict[tuple[frozenset[str], ...], _Request] = {}
        for request in self._queue:
            fits = not batch or (size + len(request.claims) <= self.max_claims
                                 and request.subjects.isdisjoint(described) and request.subjects.isdisjoint(named)
                                 and request.objects.isdisjoint(described))
            if not fits and request.key is not None and request.key in keys:
                request.twin = keys[request.key]
                batch.append(request)
            elif fits:
                if request.key is not None:
                    keys[request.key] = request
                batch.append(request)
                described |= request.subjects
                named |= request.objects
                size += len(request.claims)
            else:
                kept.append(request)
        self._queue = kept
        return batch

    def _validate(self, claims: list[ClaimGraph]) -> list[ClaimReport]:
        """The batch's reports; a fast validator gets the shared workspace (only the leader validates)."""
        if isinstance(self.validator, FastValidator):
            if self._workspace is None:
                self._workspace = Workspace(self.validator.store)
            return self.validator.validate(claims, workspace=self._workspace).claims
        return self.validator.validate(claims).claims

    def _run(self, batch: list[_Request]) -> None:
        """Validate the batch and answer its requests; wake each one but the leader."""
        distinct = [r for r in batch if r.twin is None]
        try:
            claims = [c for r in distinct for c in r.claims]
            reports = self._validate(claims)
        except Exception as exc:
            if len(distinct) == 1:
                for request in batch:
                    request.error = exc
            else:  # find whose claims fail: each request alone (with its twins)
                for request in distinct:
                    self._run([request, *(r for r in batch if r.twin is request)])
                return
        else:
            start = 0
            for request in distinct:
                request.reports = reports[start:start + len(request.claims)]
                start += len(request.claims)
            for request in batch:
                if request.twin is not None:
                    request.reports = list(request.twin.reports or ())
        self.batches += 1
        self.requests += len(batch)
        for request in batch:
            if not request.leads:
                request.wake.set()

