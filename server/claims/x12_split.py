"""One large 837P interchange read in several processes, with exactly the result of reading it in one.

Why: pyx12 walks an 837P at about 2.1 ms per claim on one core, slower than the fast engine
validates, so a clearinghouse file of many thousand claims was read by one core while the other
waited. Such files hold many transaction sets (the 005010X222A1 TR3 recommends at most 5,000
claims, CLM segments, per ST/SE), and pyx12 reads a transaction set without looking at the others:
what it checks across sets is only the envelope (GS06 and ST02 unique, GE01 and IEA01 counting the
sets and groups, GE02/IEA02 repeating GS06/ISA13, one interchange per file).

So a file whose envelope adds up is cut at ST/SE boundaries into parts, each made an interchange of
its own (the file's ISA and GS, some of its transaction sets, a GE and an IEA that count them), and
the parts are read in worker processes. Each part's segments keep their numbers and lines in the
whole file, so the claims, where each is, and the claims that cannot be read (with their messages)
come back in file order exactly as reading the whole file gives them (tests/test_x12_split.py
compares both on the corpus files and on generated files with faults).

Everything else is read whole, in this process, by the same code: a file of one transaction set, a
file whose envelope counts or control numbers do not add up (pyx12's error there concerns the
whole file), and a file with any part that cannot be read on (so the error that refuses the file,
and where it is, are those of the one-process reading).
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import os
import re
from dataclasses import dataclass

from server.claims import x12
from server.claims.errors import ClaimInputError


@dataclass
class Part:
    """A part of an interchange made an interchange of its own: its text, and for each of its
    segments the number and line that segment has in the whole file."""

    text: str
    numbers: list[int]
    lines: list[int]
    claims: int


@dataclass
class _Set:
    isa: x12._Raw
    gs: x12._Raw
    segments: list[x12._Raw]  # ST ... SE
    claims: int
    ge: x12._Raw | None = None
    iea: x12._Raw | None = None


def _sets(env: x12._Envelope) -> list[_Set] | None:
    """The transaction sets with the ISA, GS, GE and IEA around each, or None when the file holds
    more than one interchange, a control number repeats, or a GE/IEA is not exactly the count and
    control number pyx12 checks it against.

    The envelope's nesting was checked by x12._check_envelope before."""
    e = env.element
    sets: list[_Set] = []
    gs_ids: list[str] = []  # of the one interchange
    st_ids: set[str] = set()  # of the current group
    isa = gs = None
    group: list[_Set] = []
    current: _Set | None = None
    for raw in env.segments:
        sid = raw.seg_id
        if current is not None:
            current.segments.append(raw)
            if sid == "SE":
                group.append(current)
                current = None
            else:
                current.claims += int(sid == "CLM")
        elif sid == "ISA":
            if isa is not None:  # pyx12 reads one interchange per file: it refuses the second IEA
                return None
            isa = raw
        elif sid == "GS":
            el = raw.text.split(e)
            if isa is None or len(el) < 7 or el[6] in gs_ids:
                return None
            gs, group, st_ids = raw, [], set()
            gs_ids.append(el[6])
        elif sid == "ST":
            el = raw.text.split(e)
            if gs is None or len(el) < 3 or el[2] in st_ids:
                return None
            st_ids.add(el[2])
            current = _Set(isa, gs, [raw], 0)
        elif sid == "GE" and raw.text == e.join(["GE", str(len(group)), gs_ids[-1]]):
            for s in group:
                s.ge = raw
            sets += group
        elif sid == "IEA" and isa is not None and raw.text == e.join(["IEA", str(len(gs_ids)),
                                                                      isa.text.split(e)[13]]):
            for s in sets:
                s.iea = raw
        else:
            return None
    return sets if all(s.ge is not None and s.iea is not None for s in sets) else None


def parts(text: str, env: x12._Envelope, count: int) -> list[Part] | None:
    """The interchange cut into about `count` parts of about as many claims (never splitting a
    transaction set, never mixing groups), or None when it cannot be cut (see the module doc)."""
    sets = _sets(env)
    if not sets or len(sets) < 2:
        return None
    total = sum(s.claims for s in sets)
    ends = [m.start() for m in re.finditer(re.escape(env.terminator), text)]
    out: list[Part] = []
    pending: list[_Set] = []
    done = 0
    for i, s in enumerate(sets):
        pending.append(s)
        done += s.claims
        nxt = sets[i + 1] if i + 1 < len(sets) else None
        if nxt is None or nxt.gs is not s.gs or done * max(1, count) >= (len(out) + 1) * total:
            out.append(_part(text, env, ends, pending))
            pending = []
    return out if len(out) > 1 else None


def _part(text: str, env: x12._Envelope, ends: list[int], sets: list[_Set]) -> Part:
    e, t = env.element, env.terminator
    first = sets[0]
    assert first.ge is not None and first.iea is not None
    raws = [first.isa, first.gs, *(r for s in sets for r in s.segments)]
    # segment n runs from the terminator before it (pyx12 drops the line breaks after that, as in the
    # file) to the n-th terminator: x12._envelope made a segment of every piece between terminators
    body = "".join(text[ends[r.number - 2] + 1 if r.number > 1 else 0:ends[r.number - 1]] + t for r in raws)
    ge = e.join(["GE", str(len(sets)), first.gs.text.split(e)[6]])
    iea = e.join(["IEA", "1", first.isa.text.split(e)[13]])
    raws += [first.ge, first.iea]
    return Part(f"{body}{ge}{t}{iea}{t}", [r.number for r in raws], [r.line for r in raws],
                sum(s.claims for s in sets))


def read_part(part: Part, source: str, multiline: bool) -> tuple[list[dict], list[str], list[ClaimInputError], int]:
    """x12._read on a part, its segments numbered as in the whole file; raises ClaimInputError as it does."""
    env = x12._envelope(part.text, source)
    raws = [dataclasses.replace(r, number=n, line=line)
            for r, n, line in zip(env.segments, part.numbers, part.lines, strict=True)]
    env = dataclasses.replace(env, segments=raws, multiline=multiline, numbered={r.number: r for r in raws})
    return x12._read(part.text, env, source)


def _read_part_job(job: tuple[Part, str, bool]) -> tuple[list[dict], list[str], list[ClaimInputError], int] | None:
    try:
        return read_part(*job)
    except ClaimInputError:
        return None  # read the whole file instead: its error, at its place, is the answer


def claim_objects_split(text: str, source: str = "<input>", errors: list[ClaimInputError] | None = None,
                        workers: int = 2) -> tuple[list[dict], list[str]]:
    """x12.claim_objects_from_x12, with the transaction sets read in `workers` processes when the
    file can be cut (see the module doc): the same claim objects, wheres, errors and exceptions."""
    text = text.lstrip()
    env = x12._envelope(text, source)
    cut = parts(text, env, 2 * workers) if workers > 1 else None
    results = None
    if cut is not None:
        ctx = mp.get_context("spawn" if os.name != "posix" else "forkserver")
        with ctx.Pool(min(workers, len(cut))) as pool:
            results = pool.map(_read_part_job, [(p, source, env.multiline) for p in cut], chunksize=1)
    if results is None or any(r is None for r in results):
        objects, wheres, bad, found = x12._read(text, env, source)
    else:
        objects, wheres, bad, found = [], [], [], 0
        for part_objects, part_wheres, part_bad, part_found in results:
            objects += part_objects
            wheres += part_wheres
            bad += part_bad
            found += part_found
    return x12._handed_over(source, objects, wheres, bad, found, errors)
