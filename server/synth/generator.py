"""Seeded synthetic claims: realistic clean claims with a controlled share of faulty ones.

`generate(count, seed)` streams claims in the plain JSON form (docs/claims.md). The same seed and
parameters give the same claims, byte for byte; nothing is held but a small pool of open episodes,
so a million claims stream in constant memory. `generate_with_labels` yields each claim with the
rule ids its faults are meant to trigger (empty for a clean claim): the label travels beside the
claim, because the claim form rejects unknown fields.

How a run works (docs/synthetic-claims.md): a pool of providers (valid NPIs, chiropractors most) and
a pool of open episodes of care; each claim is the next visit of a random open episode (a finished
episode is replaced by a new one starting at the run's current date, so service dates spread over
`span_days`), and with probability `fault_rate` it is made faulty, by a mutation operator that
applies to it or, for a quarter of the faulty claims, by re-identifying the example claim of a
rule picked at random (so every rule of the catalogue occurs).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from server.synth import faults
from server.synth.compose import Composer, Episode
from server.synth.data import rule_examples
from server.synth.knowledge import knowledge
from server.synth.people import Provider, provider_pool

DEFAULT_START = dt.date(2024, 10, 1)
DEFAULT_SPAN_DAYS = 540            # 18 months of service dates
TEMPLATE_SHARE = 0.25              # faulty claims made from a rule's example claim
SECOND_FAULT = 0.15                # faulty claims that get a second, line-level fault


@dataclass(frozen=True, slots=True)
class Synthetic:
    """One generated claim with what was done to it (the side channel)."""
    claim: dict[str, Any]
    rules: tuple[str, ...]         # rule ids the faults are meant to trigger (sorted; empty = clean)
    operators: tuple[str, ...]     # fault operators applied ("example:<rule>" for a template)


def _check(count: int, fault_rate: float, providers: int, span_days: int, active_episodes: int) -> None:
    if not isinstance(count, int) or count < 0:
        raise ValueError(f"count: expected a non-negative integer, got {count!r}")
    if not 0.0 <= fault_rate <= 1.0:
        raise ValueError(f"fault_rate: expected a number from 0 to 1, got {fault_rate!r}")
    if providers < 4:
        raise ValueError(f"providers: need at least 4 (one per provider type), got {providers}")
    if span_days < 1:
        raise ValueError(f"span_days: expected at least 1, got {span_days}")
    if active_episodes < 1:
        raise ValueError(f"active_episodes: expected at least 1, got {active_episodes}")


def generate_detailed(count: int, seed: int, fault_rate: float = 0.35, start_date: dt.date = DEFAULT_START,
                      span_days: int = DEFAULT_SPAN_DAYS, providers: int = 60,
                      active_episodes: int = 32) -> Iterator[Synthetic]:
    """Stream `count` claims with their intended rules and the operators applied.

    Bad arguments raise ValueError here, before the first claim is asked for.
    """
    _check(count, fault_rate, providers, span_days, active_episodes)
    return _run(count, seed, fault_rate, start_date, span_days, providers, active_episodes)


def _run(count: int, seed: int, fault_rate: float, start_date: dt.date, span_days: int, providers: int,
         active_episodes: int) -> Iterator[Synthetic]:
    k = knowledge()
    rng = random.Random(seed)
    comp = Composer(k, rng)
    pool = provider_pool(rng, providers)
    by_type: dict[str, list[Provider]] = {}
    for p in pool:
        by_type.setdefault(p.type, []).append(p)
    cum = []
    total = 0.0
    for p in pool:
        total += p.volume
        cum.append(total)
    operators = faults.OPERATORS
    op_cum = list(itertools.accumulate(op.weight for op in operators))
    op_total = op_cum[-1]
    line_ops = [op for op in operators if op.lines_only]
    template_rules = sorted(rule_examples())
    start = start_date.toordinal()
    prefix = f"SYN{seed & 0xFFFFFFFF:08X}"
    open_episodes = max(1, min(active_episodes, count // 8 or 1))

    def new_episode(i: int) -> Episode:
        provider = rng.choices(pool, cum_weights=cum)[0]
        day = start + (i * span_days) // max(count, 1) + rng.randint(0, 6)
        return comp.episode(provider, day)

    episodes = [new_episode(0) for _ in range(open_episodes)]
    for i in range(count):
        claim_id = f"{prefix}-{i + 1:07d}"
        slot = rng.randrange(open_episodes)
        ep = episodes[slot]
        faulty = rng.random() < fault_rate
        if faulty and rng.random() < TEMPLATE_SHARE:
            rule = rng.choice(template_rules)
            ptype = rule_examples()[rule].get("providerType", "chiropractor")
            provider = rng.choice(by_type.get(ptype) or pool)
            comp.patients += 1
            claim = faults.from_template(rule, claim_id, ep.next_day, provider.npi,
                                         f"P-{100000 + comp.patients}", comp)
            yield Synthetic(claim, (rule,), (f"example:{rule}",))
            continue
        claim = comp.visit(ep, claim_id)
        if ep.visit >= ep.visits:
            episodes[slot] = new_episode(i)
        if not faulty:
            yield Synthetic(claim, (), ())
            continue
        ctx = faults.FaultContext(k, comp, ep)
        applied: list[faults.Operator] = []
        # weighted draws until an operator applies to this claim; after a few misses, the rest in
        # a random order (so a claim that some operator fits always gets one)
        tried: set[int] = set()
        for _ in range(8):
            j = bisect.bisect_right(op_cum, rng.random() * op_total)
            if j not in tried:
                tried.add(j)
                if operators[j].fn(claim, ctx):
                    applied.append(operators[j])
                    break
        else:
            for j in rng.sample(range(len(operators)), len(operators)):
                if j not in tried and operators[j].fn(claim, ctx):
                    applied.append(operators[j])
                    break
        if applied and not applied[0].lines_only and rng.random() < SECOND_FAULT:
            for op in rng.sample(line_ops, len(line_ops)):
                if (not op.target or op.target != applied[0].target) and op.fn(claim, ctx):
                    applied.append(op)
                    break
        if not applied:   # no mutation fits this claim: use a rule's example instead
            rule = rng.choice(template_rules)
            claim = faults.from_template(rule, claim_id, ep.next_day, None, claim["patient"], comp)
            yield Synthetic(claim, (rule,), (f"example:{rule}",))
            continue
        rules = tuple(sorted({r for op in applied for r in op.rules}))
        yield Synthetic(claim, rules, tuple(op.name for op in applied))


def generate_with_labels(count: int, seed: int, fault_rate: float = 0.35, **options: Any
                         ) -> Iterator[tuple[dict[str, Any], tuple[str, ...]]]:
    """Stream (claim, intended rule ids); the rule ids are empty for a clean claim."""
    for s in generate_detailed(count, seed, fault_rate, **options):
        yield s.claim, s.rules


def generate(count: int, seed: int, fault_rate: float = 0.35, **options: Any) -> Iterator[dict[str, Any]]:
    """Stream `count` synthetic claims in the plain JSON form, deterministically for `seed`.

    Options: start_date (datetime.date), span_days, providers (pool size), active_episodes.
    """
    for s in generate_detailed(count, seed, fault_rate, **options):
        yield s.claim
