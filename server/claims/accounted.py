"""Claim objects into claim graphs, every object accounted for: a graph or an input error.

Why: the claim reading rules (ontology/claim-rules/10-claims.ru) recognise a claim by the fields
that make one (diagnoses, lines, findings, payer, service date). A checked object with none of
them, `{"id": "B"}` say, became no graph and no error: it was lost without a word. Until those
rules name every claim field (they are frozen while the 100,000-claim differential of the
performance issue runs: docs/fast-engine.md), such an object is an input error here.
"""

from __future__ import annotations

from typing import Any

from server.claims.errors import ClaimInputError
from server.claims.graph import ClaimGraph

NOT_A_CLAIM = ("claim {id!r} has none of the fields a claim is read by (diagnoses, lines, findings, payer, "
               "serviceDate), so there is nothing to validate; give at least its diagnoses and lines")


def item_wheres(source: str, count: int) -> list[str]:
    """Where each of `count` claim objects of one document is, as the JSON claim reader names them."""
    return [f"{source}: claim"] if count == 1 else [f"{source}: claims[{i}]" for i in range(count)]


def claim_graphs(items: list[Any], source: str = "<input>", errors: list[ClaimInputError] | None = None,
                 wheres: list[str] | None = None) -> list[ClaimGraph]:
    """`jsonform.claims_from_objects`, plus an input error for each well-formed object that gave no graph."""
    from server.claims.jsonform import check_claim, claims_from_objects

    wheres = item_wheres(source, len(items)) if wheres is None else wheres
    graphs = claims_from_objects(items, source, errors, wheres)
    read = {g.claim_id for g in graphs}
    for obj, where in zip(items, wheres, strict=True):
        if isinstance(obj, dict) and isinstance(obj.get("id"), str) and obj["id"] in read:
            continue
        try:
            check_claim(obj, where)
        except (ClaimInputError, RecursionError):
            continue  # the claim reader has reported it
        exc = ClaimInputError(where, NOT_A_CLAIM.format(id=obj["id"]))
        if errors is None:
            raise exc
        errors.append(exc)
    return graphs
