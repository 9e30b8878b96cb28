"""X12 837P (005010X222A1) claim files into the plain JSON claim form, and so into claim graphs.

Why this shape: the envelope and the loop structure of an 837P are hard to get right by hand
(HL hierarchies, the same NM1 meaning different parties in different loops), so pyx12 walks the
file against its 005010X222A1 map and tells, for each segment, which loop it belongs to
(2000A billing provider, 2000B subscriber, 2300 claim, 2310B rendering provider, 2400 line) and
what is wrong with it. This module only decides what the mapped segments mean (the table in
docs/x12-837p.md) and hands plain JSON claim objects to jsonform.claims_from_objects, so an 837P
claim becomes exactly the graph the same claim written as JSON becomes.

Errors name the segment by its number in the file (ISA = 1) and its id, with the line for files
written one segment per line: `file.837:24: segment 24 (SV1): SV104 'x' is not a number`. A bad
envelope (not an 837P 5010, truncated, wrong terminator) refuses the file; a bad claim is reported
and the other claims of the file still load.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from server.claims.errors import ClaimInputError
from server.claims.graph import ClaimGraph
from server.claims.mappings import mappings

# The erratum A2 has the same segment structure as A1 for every segment read here; pyx12 ships
# only the A1 map, so A2 files are walked with it.
VERSIONS = ("005010X222A1", "005010X222A2")
_A1_MAP = "837.5010.X222.A1.xml"

# SBR09 claim filing indicator -> payer and NUCC taxonomy -> providerType are data (docs/x12-837p.md,
# "Payer" and "Provider type"): ontology/format-mappings.ttl, read by server.claims.mappings.

# Element ids whose pyx12 errors make a claim unreadable: the elements this module maps.
_MAPPED = re.compile(r"^(CLM01|HI\d\d(-\d+)?|SV101(-\d+)?|SV103|SV104|SV107(-\d+)?|DTP0[123]|SBR09|PRV03|NM10[89])$")
_STRUCTURE_CODES = {"1", "HL1", "HL2", "LX", "4", "5", "021", "6"}  # segment not found, HL/LX/SE/GE/IEA counts
_ID_BAD = re.compile(r"[^A-Za-z0-9._~-]+")
_COMPONENT_GUESSES = (":", ">", "^", "|", "\\", "<")


def __getattr__(name: str) -> Any:
    """PAYER_BY_FILING, the table this module once held, built from the Turtle when asked for."""
    if name == "PAYER_BY_FILING":
        return dict(mappings().filing_codes)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def provider_type(taxonomy: str) -> str | None:
    """NUCC taxonomy code -> providerType (docs/x12-837p.md, "Provider type"); None when it says none of them.

    The longest prefix of the mappings wins (204D... and 204C... are osteopath, other 20... codes physician),
    the same table the FHIR reader uses.
    """
    return mappings().provider_type(taxonomy.strip().upper())


def dot_icd10(code: str) -> str:
    """X12 sends ICD-10-CM codes without the decimal point; put it back after the category (M9904 -> M99.04)."""
    code = code.strip().upper()
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 and "." not in code else code


# ----------------------------------------------------------------------------------------------
# The envelope: delimiters, segment positions, versions. Checked before pyx12 sees the file,
# because pyx12's raw reader silently stops at an empty segment or a missing terminator.


@dataclass(slots=True)
class _Raw:
    number: int  # 1-based position in the file, ISA = 1 (pyx12's count too)
    seg_id: str
    text: str
    line: int


@dataclass
class _Envelope:
    element: str
    component: str
    terminator: str
    segments: list[_Raw]
    multiline: bool
    #: the segments by their number in the whole file, when these are the segments of a part of it
    #: (server.claims.x12_split); None when they are the whole file, numbered from 1
    numbered: dict[int, _Raw] | None = None

    def raw(self, number: int) -> _Raw | None:
        if self.numbered is not None:
            return self.numbered.get(number)
        return self.segments[number - 1] if 0 < number <= len(self.segments) else None

    def where(self, source: str, number: int, seg_id: str) -> str:
        raw = self.raw(number)
        line = f":{raw.line}" if raw is not None and self.multiline else ""
        return f"{source}{line}: segment {number} ({seg_id or '?'})"


def _envelope(text: str, source: str) -> _Envelope:
    if not text.startswith("ISA"):
        raise ClaimInputError(source, "not an X12 interchange: the first segment must be ISA")
    if len(text) < 106:
        raise ClaimInputError(f"{source}: segment 1 (ISA)", f"the ISA segment is fixed-width, 106 characters; "
                                                            f"the file has {len(text)}")
    element, component, terminator = text[3], text[104], text[105]
    isa = text[:105].split(element)
    if len(isa) != 17 or len(isa[16]) != 1:
        raise ClaimInputError(f"{source}: segment 1 (ISA)",
                              f"ISA must have 16 fixed-width elements separated by {element!r} and end at "
                              f"character 106 with the segment terminator; found {len(isa) - 1} elements")
    if terminator.isalnum() or terminator in (element, component, " "):
        raise ClaimInputError(f"{source}: segment 1 (ISA)",
                              f"character 106 must be the segment terminator, found {terminator!r}: "
                              "ISA is not 106 characters long, or the terminator is missing")
    if component.isalnum() or component == element:
        raise ClaimInputError(f"{source}: segment 1 (ISA)", f"ISA16 component separator {component!r} is not valid")
    if isa[12] != "00501":
        raise ClaimInputError(f"{source}: segment 1 (ISA)", f"ISA12 version {isa[12]!r} is not 00501: this importer "
                                                            f"reads 837P version 5010 ({VERSIONS[0]}) only")
    segments: list[_Raw] = []
    pieces = text.split(terminator)
    offset = 0
    line, counted = 1, 0  # line numbers counted forward from the last segment: linear in the file size
    for i, piece in enumerate(pieces):
        start = offset + len(piece) - len(piece.lstrip("\n\r"))
        offset += len(piece) + 1
        body = piece.lstrip("\n\r")
        last = i == len(pieces) - 1
        if last:
            if body.strip():
                prev = segments[-1] if segments else None
                raise ClaimInputError(
                    f"{source}: segment {len(segments) + 1} ({body.split(element)[0][:3]})",
                    f"the file ends without the segment terminator {terminator!r} declared in ISA"
                    + (f" (after {prev.seg_id}): truncated file or wrong terminator" if prev else ""))
            break
        line += text.count("\n", counted, start)
        counted = start
        seg_id = body.split(element)[0]
        number = len(segments) + 1
        if not body.strip():
            raise ClaimInputError(f"{source}: segment {number}", f"empty segment: two terminators {terminator!r} "
                                                                 "in a row")
        if "\n" in body.rstrip("\n\r") or "\r" in body.rstrip("\n\r"):
            raise ClaimInputError(f"{source}:{line}: segment {number} ({seg_id[:3]})",
                                  f"a line break inside the segment: the terminator {terminator!r} is missing at "
                                  "the end of this line")
        if not re.fullmatch(r"[A-Z][A-Z0-9]{1,2}", seg_id):
            raise ClaimInputError(f"{source}:{line}: segment {number}",
                                  f"{body[:20]!r}...: {seg_id[:8]!r} is not a segment identifier "
                                  "(2-3 capital letters or digits)")
        segments.append(_Raw(number, seg_id, body.rstrip("\n\r"), line))
    env = _Envelope(element, component, terminator, segments, "\n" in text.strip())
    _check_envelope(env, source)
    return env


def _check_envelope(env: _Envelope, source: str) -> None:
    """ISA/GS/ST ... SE/GE/IEA nesting, and that every group and set is an 837P of a 5010 professional version."""
    state = "start"
    last = None
    for raw in env.segments:
        el = raw.text.split(env.element)
        where = env.where(source, raw.number, raw.seg_id)
        sid = raw.seg_id
        if sid == "ISA":
            if state not in ("start", "closed"):
                raise ClaimInputError(where, f"ISA inside an open interchange (no IEA before it; state {state})")
            state = "isa"
        elif sid == "GS":
            if state != "isa":
                raise ClaimInputError(where, "GS must follow ISA or GE")
            if el[1:2] != ["HC"]:
                raise ClaimInputError(where, f"GS01 {el[1] if len(el) > 1 else ''!r} is not HC: not a health care "
                                             "claim group")
            version = el[8] if len(el) > 8 else ""
            if version not in VERSIONS:
                raise ClaimInputError(where, f"GS08 {version!r} is not {VERSIONS[0]}: this importer reads the 837 "
                                             f"Professional of version 5010 ({', '.join(VERSIONS)}) only")
            state = "gs"
        elif sid == "ST":
            if state != "gs":
                raise ClaimInputError(where, "ST must follow GS or SE")
            if el[1:2] != ["837"]:
                raise ClaimInputError(where, f"ST01 {el[1] if len(el) > 1 else ''!r} is not 837: not a claim set")
            if len(el) > 3 and el[3] and el[3] not in VERSIONS:
                raise ClaimInputError(where, f"ST03 {el[3]!r} is not {VERSIONS[0]}: not an 837 Professional 5010")
            state = "st"
        elif sid == "SE":
            if state != "st":
                raise ClaimInputError(where, "SE without ST")
            state = "gs"
        elif sid == "GE":
            if state != "gs":
                raise ClaimInputError(where, "GE without GS, or inside an open transaction set (no SE)")
            state = "isa"
        elif sid == "IEA":
            if state != "isa":
                raise ClaimInputError(where, "IEA inside an open group or transaction set (no GE or SE)")
            state = "closed"
        elif state != "st":
            raise ClaimInputError(where, "segment outside a transaction set (ST ... SE)")
        last = raw
    if state != "closed" and last is not None:
        missing = {"st": "SE, GE and IEA", "gs": "GE and IEA", "isa": "IEA"}.get(state, "IEA")
        raise ClaimInputError(env.where(source, last.number, last.seg_id),
                              f"the file ends after this segment without {missing}: truncated file")


# ----------------------------------------------------------------------------------------------
# Walking the file with pyx12.


class _LoadedMaps:
    """`pyx12.map_if` as pyx12's X12ContextReader sees it, with each map loaded once per process.

    Why: pyx12 parses its XML maps (the 5010 control map and the 837P map) again for every file,
    about 150 ms: 98% of reading a one-claim file, the usual `POST /validate` body. A loaded map is
    read-only while a file is walked (pyx12 keeps the walk's counts in its own NodeCounter; its map
    nodes only memoise their own paths), so one copy serves every file and every thread. The key
    holds the parameters the map reads (charset, external codes).
    """

    def __init__(self, module: Any) -> None:
        self._module = module
        self._maps: dict[tuple, Any] = {}
        self.loads = 0  # maps parsed (for the tests)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def load_map_file(self, map_file: str, param: Any, map_path: str | None = None) -> Any:
        key = (map_file, map_path, param.get("charset"), param.get("exclude_external_codes"))
        found = self._maps.get(key)
        if found is None:
            self.loads += 1
            found = self._maps.setdefault(key, self._module.load_map_file(map_file, param, map_path))
        return found


def _loaded_maps() -> _LoadedMaps:
    import pyx12.x12context

    if not isinstance(pyx12.x12context.map_if, _LoadedMaps):
        pyx12.x12context.map_if = _LoadedMaps(pyx12.x12context.map_if)
    return pyx12.x12context.map_if


# Segments whose element errors this reader reads (`_claim_object`, at its end). pyx12 checks every
# element of every segment (lengths, code lists, types: about a third of its walk); for the other
# segments (addresses, names of other parties, demographics, LX, HL...) those findings are never
# read: only the walker's placement and count errors are, and they come from elsewhere. So a walk
# of this reader skips the element check there. Its segment-level findings carry code "8", which
# is not a structural code, so nothing the reader uses is lost (tests/test_x12.py compares with
# pyx12 unchanged on every corpus file).
_ELEMENTS_READ = frozenset({"NM1", "PRV", "SBR", "DTP", "CLM", "HI", "SV1"})


def _reader_errors() -> type:
    """The error list of this reader's walks, installing (once) pyx12's element check that skips,
    for those walks only, the segments whose element errors the reader never reads."""
    import pyx12.error_handler
    import pyx12.x12context

    installed = pyx12.x12context.apply_segment_errors
    if getattr(installed, "reader_errors", None) is None:
        pyx12_check = installed

        class ReaderErrors(pyx12.error_handler.errh_list):
            """pyx12's error list, marking a walk of this reader (other walks keep pyx12's full check)."""

        def apply_segment_errors(node: Any, seg_data: Any, errh: Any) -> bool:
            if isinstance(errh, ReaderErrors) and seg_data.get_seg_id() not in _ELEMENTS_READ:
                return True
            return pyx12_check(node, seg_data, errh)

        apply_segment_errors.reader_errors = ReaderErrors  # type: ignore[attr-defined]
        pyx12.x12context.apply_segment_errors = installed = apply_segment_errors
    return installed.reader_errors


@dataclass(slots=True)
class _Seg:
    raw: _Raw
    seg: Any  # pyx12.segment.Segment
    loops: tuple[str, ...]  # loop ids from pyx12's map path, e.g. ("2000A", "2000B", "2300", "2400")
    errors: list[tuple[str, str, str | None]] = field(default_factory=list)  # (code, message, element id)

    @property
    def seg_id(self) -> str:
        return self.raw.seg_id

    def value(self, ref: str) -> str:
        return (self.seg.get_value(ref) or "").strip()


def _walk(text: str, env: _Envelope, source: str) -> Iterator[_Seg]:
    """The segments as pyx12 places them, one at a time; raises where pyx12 stops before the end."""
    import pyx12.errors
    import pyx12.params
    import pyx12.x12context

    _loaded_maps()
    param = pyx12.params.params()
    errh = _reader_errors()()
    walked = 0
    own_errors = (pyx12.errors.X12Error, pyx12.errors.EngineError)
    problem = None
    try:
        reader = pyx12.x12context.X12ContextReader(param, errh, io.StringIO(text))
        reader.map_index_if.add_map("00501", "005010X222A2", "HC", None, _A1_MAP, "837P")
        for node in reader.iter_segments():
            number = int(node.cur_line_number)
            raw = env.segments[number - 1] if 0 < number <= len(env.segments) else None
            if raw is None:
                raise ClaimInputError(source, f"segment {number}: pyx12 and the envelope check disagree on the "
                                              "segment count")
            path = node.x12_map_node.get_path()
            loops = tuple(p for p in path.split("/") if re.fullmatch(r"2\d{3}[A-Z]{0,2}", p))
            errs = [(str(e[0]), str(e[1]), None) for e in (*errh.err_isa, *errh.err_gs, *errh.err_st, *errh.err_seg)]
            errs += [(str(e[0]), str(e[1]), str(e[3]) if e[3] else None) for e in errh.err_ele]
            errh.reset()
            walked += 1
            yield _Seg(raw, node.seg_data, loops, errs)
    except ClaimInputError:
        raise
    except (*own_errors, IndexError, KeyError, TypeError, ValueError, AttributeError) as exc:
        # besides its own errors, pyx12 fails with plain exceptions on some malformed segments (more
        # components than its map knows, say)
        problem = (f"the X12 reader stopped: {exc}" if isinstance(exc, own_errors) else
                   f"the X12 reader could not read this segment ({type(exc).__name__}); check its elements, "
                   "components and separators")
    if problem is None and walked == len(env.segments):
        return
    stopped = env.segments[walked] if walked < len(env.segments) else None
    number = stopped.number if stopped else (env.segments[-1].number + 1 if env.segments else 1)
    raise ClaimInputError(env.where(source, number, stopped.seg_id if stopped else "?"),
                          problem or "the X12 reader stopped reading here")


# ----------------------------------------------------------------------------------------------
# From segments to claim objects.


@dataclass
class _Context:
    """What the HL loops above a claim say: billing provider (2000A) and subscriber (2000B)."""

    segments: list[_Seg] = field(default_factory=list)
    taxonomy: str | None = None
    npi: str | None = None
    filing: str | None = None
    member: str | None = None


@dataclass
class _ClaimSegs:
    clm: _Seg
    billing: _Context
    subscriber: _Context
    segments: list[_Seg] = field(default_factory=list)


def _group(segs: Iterable[_Seg], env: _Envelope, source: str) -> Iterator[_ClaimSegs]:
    """Split the walked file into claims, each with the billing-provider and subscriber context it sits in.

    A claim is given out once its contexts can no longer change (at the next HL or envelope
    segment, or the end), so the segments of the claims before it can be let go: the memory a
    large file takes is its claims' objects, not every pyx12 segment.
    """
    claims: list[_ClaimSegs] = []
    billing = _Context()
    subscriber = _Context()
    current: _ClaimSegs | None = None
    for s in segs:
        if _structural(s) and not s.loops:
            # envelope and header (1000A/B): nothing after an unidentified segment there can be trusted
            message = next(m for code, m, e in s.errors if e is None and code in _STRUCTURE_CODES)
            raise ClaimInputError(env.where(source, s.raw.number, s.seg_id), _pyx12_problem(s, message, env))
        if s.seg_id in ("ISA", "GS", "ST"):
            yield from claims
            claims.clear()
            billing, subscriber, current = _Context(), _Context(), None
            continue
        if s.seg_id in ("SE", "GE", "IEA"):
            current = None
            continue
        if s.seg_id == "HL":
            yield from claims
            claims.clear()
            level = s.value("HL03")
            current = None
            if level == "20":
                billing, subscriber = _Context([s]), _Context()
            elif level == "23":
                subscriber = _Context([*subscriber.segments, s], member=subscriber.member, filing=subscriber.filing)
            else:  # 22, or a broken HL whose errors then refuse the claims below it
                subscriber = _Context([s])
            continue
        if s.seg_id == "CLM":
            current = _ClaimSegs(s, billing, subscriber, [s])
            claims.append(current)
            continue
        if current is not None and ("2300" in s.loops or _structural(s)):
            current.segments.append(s)
            continue
        ctx = subscriber if "2000B" in s.loops else billing if "2000A" in s.loops else None
        if ctx is None:
            continue
        ctx.segments.append(s)
        if _structural(s):
            continue
        if s.seg_id == "PRV" and s.loops[-1:] == ("2000A",):
            ctx.taxonomy = s.value("PRV03")
        elif s.seg_id == "NM1" and s.loops[-1:] == ("2010AA",) and s.value("NM108") == "XX":
            ctx.npi = s.value("NM109")
        elif s.seg_id == "SBR" and s.loops[-1:] == ("2000B",):
            ctx.filing = s.value("SBR09")
        elif s.seg_id == "NM1" and s.loops[-1:] == ("2010BA",):
            ctx.member = s.value("NM109") or None
    yield from claims


def _structural(s: _Seg) -> bool:
    """A segment pyx12 could not place, or an HL/LX/SE/GE/IEA count that does not add up."""
    return any(element is None and code in _STRUCTURE_CODES for code, _, element in s.errors)


def _pyx12_problem(s: _Seg, message: str, env: _Envelope) -> str:
    """pyx12's message, with the likely cause when the composites use another separator than ISA16 declares."""
    hint = ""
    if s.seg_id in ("CLM", "HI", "SV1"):
        first = s.raw.text.split(env.element)[1:]
        used = {c for c in _COMPONENT_GUESSES if c != env.component and any(c in e for e in first)}
        if used:
            hint = (f" (its composites use {sorted(used)[0]!r} but ISA16 declares the component separator "
                    f"{env.component!r}; the file must use the separator it declares)")
    return f"not a valid {s.seg_id} at this place in a {VERSIONS[0]} claim: {message}{hint}"


class _Bad(Exception):
    def __init__(self, seg: _Seg, problem: str) -> None:
        super().__init__(problem)
        self.seg = seg
        self.problem = problem


def _date(s: _Seg) -> str:
    """DTP03 as YYYY-MM-DD (D8, or the first day of an RD8 range)."""
    fmt, value = s.value("DTP02"), s.value("DTP03")
    if fmt == "RD8":
        value = value.split("-")[0]
    elif fmt != "D8":
        raise _Bad(s, f"DTP02 {fmt!r}: expected D8 (a date) or RD8 (a range)")
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date().isoformat() if len(value) == 8 else _date_fail(s, value)
    except ValueError:
        return _date_fail(s, value)


def _date_fail(s: _Seg, value: str) -> str:
    raise _Bad(s, f"DTP03 {value!r} is not a date CCYYMMDD")


def _integer(s: _Seg, ref: str, what: str) -> int:
    text = s.value(ref)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _Bad(s, f"{ref} {text!r} is not a number") from None
    if number != number.to_integral_value() or number < 1:
        raise _Bad(s, f"{ref} {text!r} is not a whole number of {what} (1 or more)")
    return int(number)


def _claim_object(c: _ClaimSegs, env: _Envelope) -> dict[str, Any]:
    for s in [*c.billing.segments, *c.subscriber.segments, *c.segments]:
        for code, message, element in s.errors:
            if element is None and code in _STRUCTURE_CODES:
                raise _Bad(s, _pyx12_problem(s, message, env))
    clm = c.clm
    raw_id = clm.value("CLM01")
    if not raw_id:
        raise _Bad(clm, "CLM01 (the claim identifier, patient control number) is missing")
    claim_id = _ID_BAD.sub("-", raw_id).strip("-._~")[:64]
    if not claim_id:
        raise _Bad(clm, f"CLM01 {raw_id!r} has no letter or digit to make a claim identifier from")
    obj: dict[str, Any] = {"id": claim_id}
    if c.subscriber.filing:
        payer = mappings().filing_payer(c.subscriber.filing)
        if payer:
            obj["payer"] = payer
    rendering_npi = rendering_taxonomy = None
    diagnoses: list[str] = []
    lines: list[dict[str, Any]] = []
    line_dates: list[tuple[_Seg, str]] = []
    current: dict[str, Any] | None = None
    for s in c.segments[1:]:
        loop = s.loops[-1] if s.loops else ""
        if loop == "2310B" and s.seg_id == "NM1" and s.value("NM108") == "XX":
            rendering_npi = s.value("NM109")
        elif loop == "2310B" and s.seg_id == "PRV":
            rendering_taxonomy = s.value("PRV03")
        elif loop == "2300" and s.seg_id == "HI":
            diagnoses += _diagnoses(s, not diagnoses)
        elif loop == "2300" and s.seg_id == "DTP" and s.value("DTP01") in ("454", "455"):
            obj["treatmentStart" if s.value("DTP01") == "454" else "xrayDate"] = _date(s)
        elif loop == "2400" and s.seg_id == "LX":
            current = None
        elif loop == "2400" and s.seg_id == "SV1":
            current = _line(s)
            lines.append(current)
        elif loop == "2400" and s.seg_id == "DTP" and s.value("DTP01") == "472":
            line_dates.append((s, _date(s)))
    if not diagnoses:
        raise _Bad(clm, "the claim has no diagnosis: loop 2300 needs an HI segment with the principal diagnosis (ABK)")
    if not lines:
        raise _Bad(clm, "the claim has no service line: loop 2400 needs LX and SV1")
    dates = sorted({d for _, d in line_dates})
    if len(dates) > 1:
        raise _Bad(line_dates[[d for _, d in line_dates].index(dates[1])][0],
                   f"the lines have different dates of service ({', '.join(dates)}); the claim form has one "
                   "serviceDate: send one claim per date of service")
    if dates:
        obj["serviceDate"] = dates[0]
    provider = rendering_npi or c.billing.npi
    if provider:
        obj["provider"] = provider
    taxonomy = rendering_taxonomy or c.billing.taxonomy
    ptype = provider_type(taxonomy) if taxonomy else None
    if ptype:
        obj["providerType"] = ptype
    if c.subscriber.member:
        obj["patient"] = c.subscriber.member
    obj["diagnoses"] = diagnoses
    obj["lines"] = lines
    # pyx12's element errors on the elements mapped above (code lists, lengths) come last: the
    # checks above give the more specific message for the same element.
    for s in [*c.billing.segments, *c.subscriber.segments, *c.segments]:
        if s.seg_id in _ELEMENTS_READ and _mapped_here(s, c):
            for _code, message, element in s.errors:
                if element and _MAPPED.match(element):
                    raise _Bad(s, f"{element}: {message}")
    return {k: obj[k] for k in ("id", "payer", "providerType", "provider", "patient", "serviceDate",
                                "treatmentStart", "xrayDate", "diagnoses", "lines") if k in obj}


def _mapped_here(s: _Seg, c: _ClaimSegs) -> bool:
    """Whether segment s is one this module reads for claim c (so that its element errors matter)."""
    loop = s.loops[-1] if s.loops else ""
    if s.seg_id == "NM1":
        return loop in ("2010AA", "2010BA", "2310B")
    if s.seg_id == "PRV":
        return loop in ("2000A", "2310B")
    if s.seg_id == "DTP":
        return s.value("DTP01") in ("454", "455", "472")
    return True


def _diagnoses(s: _Seg, first: bool) -> list[str]:
    out = []
    for i in range(1, 13):
        ref = f"HI{i:02d}"
        qualifier, code = s.value(f"{ref}-1"), s.value(f"{ref}-2")
        if not qualifier and not code:
            continue
        if qualifier in ("BK", "BF"):
            raise _Bad(s, f"{ref} qualifier {qualifier!r} marks an ICD-9-CM diagnosis; m99kg reads ICD-10-CM "
                          "diagnoses (ABK principal, ABF other)")
        if qualifier not in ("ABK", "ABF"):
            if i == 1:
                return []  # another HI (anesthesia procedures BP/BO, condition codes BG): not diagnoses
            raise _Bad(s, f"{ref} qualifier {qualifier!r}: a diagnosis HI holds ABK then ABF composites")
        if (qualifier == "ABK") != (first and i == 1):
            raise _Bad(s, f"{ref} qualifier {qualifier!r}: ABK (the principal diagnosis) must come first, once")
        if not code:
            raise _Bad(s, f"{ref}-2: the diagnosis code is missing")
        out.append(dot_icd10(code))
    return out


def _line(s: _Seg) -> dict[str, Any]:
    qualifier = s.value("SV101-1")
    if qualifier != "HC":
        raise _Bad(s, f"SV101-1 {qualifier!r}: only HC (HCPCS/CPT) procedures are read")
    procedure = s.value("SV101-2")
    if not procedure:
        raise _Bad(s, "SV101-2: the procedure code is missing")
    modifiers = [m for m in (s.value(f"SV101-{k}") for k in range(3, 7)) if m]
    line: dict[str, Any] = {"procedure": procedure, "modifiers": modifiers}
    basis = s.value("SV103")
    if basis and basis != "UN":
        raise _Bad(s, f"SV103 {basis!r}: only UN (unit) counts are read; minutes (MJ) are not units")
    if s.value("SV104"):
        line["units"] = _integer(s, "SV104", "units")
    pointers = []
    for k in range(1, 5):
        if s.value(f"SV107-{k}"):
            p = _integer(s, f"SV107-{k}", "a diagnosis pointer")
            if p > 12:
                raise _Bad(s, f"SV107-{k} {p}: a diagnosis pointer is 1-12")
            pointers.append(p)
    line["pointers"] = pointers
    return line


# ----------------------------------------------------------------------------------------------
# Public API.


def claim_objects_from_x12(text: str, source: str = "<input>",
                           errors: list[ClaimInputError] | None = None) -> tuple[list[dict], list[str]]:
    """The claims of an 837P interchange as plain JSON claim objects, with where each was found.

    A file that is not a readable 837P 5010 raises ClaimInputError. A claim that cannot be read
    raises too, unless `errors` is given: then it is recorded there and the other claims still load.
    """
    text = text.lstrip()
    env = _envelope(text, source)
    objects, wheres, bad_claims, found = _read(text, env, source)
    return _handed_over(source, objects, wheres, bad_claims, found, errors)


def _read(text: str, env: _Envelope, source: str) -> tuple[list[dict], list[str], list[ClaimInputError], int]:
    """(claim objects, where each is, the claims that cannot be read, CLM segments found); raises
    ClaimInputError where the file cannot be read on."""
    objects: list[dict] = []
    wheres: list[str] = []
    bad_claims: list[ClaimInputError] = []  # handed over only when the whole file was read
    found = 0
    for c in _group(_walk(text, env, source), env, source):
        found += 1
        try:
            objects.append(_claim_object(c, env))
        except _Bad as bad:
            bad_claims.append(ClaimInputError(env.where(source, bad.seg.raw.number, bad.seg.seg_id), bad.problem))
            continue
        wheres.append(f"{source}: CLM at segment {c.clm.raw.number}")
    return objects, wheres, bad_claims, found


def _handed_over(source: str, objects: list[dict], wheres: list[str], bad_claims: list[ClaimInputError], found: int,
                 errors: list[ClaimInputError] | None) -> tuple[list[dict], list[str]]:
    if not found:
        raise ClaimInputError(source, "no claim found: the interchange has no CLM segment (loop 2300)")
    if bad_claims and errors is None:
        raise bad_claims[0]
    if errors is not None:
        errors.extend(bad_claims)
    return objects, wheres


def claims_from_x12(text: str, source: str = "<input>",
                    errors: list[ClaimInputError] | None = None) -> list[ClaimGraph]:
    """The claims of an 837P interchange as normalised claim graphs (the same graphs as their JSON form)."""
    from server.claims.accounted import claim_graphs

    objects, wheres = claim_objects_from_x12(text, source, errors)
    return claim_graphs(objects, source, errors, wheres)
