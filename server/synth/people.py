"""Synthetic providers: NPIs with a valid check digit, a provider type and a claim volume.

An NPI is 9 digits plus a Luhn check digit computed over the digits prefixed with 80840 (the card
issuer prefix the NPI standard uses), so a generated NPI passes the check clearinghouses run;
the numbers start with 1 or 2 as real individual NPIs do, but are random, not looked up.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: provider types and their share of the pool (chiropractors bill most M99 claims)
PROVIDER_MIX: tuple[tuple[str, float], ...] = (
    ("chiropractor", 0.58), ("osteopath", 0.14), ("physical-therapist", 0.12), ("physician", 0.16))


@dataclass(frozen=True, slots=True)
class Provider:
    npi: str
    type: str
    volume: float   # relative number of episodes the provider sees


def luhn_check_digit(partial: str) -> str:
    """The check digit that makes `80840` + partial + digit pass the Luhn test."""
    total = 0
    for i, ch in enumerate(reversed("80840" + partial)):
        d = int(ch)
        if i % 2 == 0:    # doubled positions, counted from the digit left of the (missing) check digit
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    return len(npi) == 10 and npi.isdigit() and luhn_check_digit(npi[:9]) == npi[9]


def make_npi(rng: random.Random) -> str:
    partial = str(rng.choice((1, 2))) + f"{rng.randrange(10**8):08d}"
    return partial + luhn_check_digit(partial)


def provider_pool(rng: random.Random, size: int) -> list[Provider]:
    """`size` providers, types in PROVIDER_MIX proportions (at least one of each), volumes skewed."""
    if size < len(PROVIDER_MIX):
        raise ValueError(f"providers: need at least {len(PROVIDER_MIX)} (one per provider type), got {size}")
    counts = [max(1, round(size * share)) for _, share in PROVIDER_MIX]
    counts[0] += size - sum(counts)
    seen: set[str] = set()
    pool = []
    for (ptype, _), n in zip(PROVIDER_MIX, counts, strict=True):
        for _ in range(n):
            npi = make_npi(rng)
            while npi in seen:
                npi = make_npi(rng)
            seen.add(npi)
            pool.append(Provider(npi, ptype, round(rng.paretovariate(1.5), 3)))
    return pool
