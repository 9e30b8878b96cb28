"""Claims of the plain JSON form as an X12 837P (005010X222A1) interchange.

Why: the synthetic-claims generator and the cross-format tests need the same claims as 837P,
and a round trip (write, then read with server.claims.x12) proves the mapping of
docs/x12-837p.md both ways. Every field the reader maps is written where the reader looks for it.

The TR3 also requires data the claim form does not have (names, addresses, a tax id, birth date,
charges, place of service). The writer fills them with fixed placeholders, listed in
docs/x12-837p.md: the output is a structurally valid 837P for tools and tests, not a billable claim.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from typing import Any

from server.claims.mappings import mappings

# providerType -> the NUCC taxonomy written in PRV03 (TAXONOMY) and payer -> SBR09 (FILING; absent
# payer -> ZZ, mutually defined, read back as no payer) are data: ontology/format-mappings.ttl, read
# by server.claims.mappings; the loader checks that each written code reads back.
_SAFE = re.compile(r"^[A-Za-z0-9 .,&()/#@'+_=-]*$")  # no X12 delimiter can slip into an element


def __getattr__(name: str) -> Any:
    """TAXONOMY and FILING, the tables this module once held, built from the Turtle when asked for."""
    if name == "TAXONOMY":
        return {token: code for token, (code, _) in mappings().written_nucc.items()}
    if name == "FILING":
        return dict(mappings().written_filing)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _value(claim_id: str, field: str, value: Any, max_len: int) -> str:
    text = str(value)
    if not text or not _SAFE.match(text) or len(text) > max_len:
        raise ValueError(f"claim {claim_id!r}: {field} {text!r} cannot be written to an 837P element "
                         f"(1-{max_len} characters, no X12 delimiters)")
    return text


def _d8(claim_id: str, field: str, value: str) -> str:
    try:
        return dt.date.fromisoformat(value).strftime("%Y%m%d")
    except (TypeError, ValueError):
        raise ValueError(f"claim {claim_id!r}: {field} {value!r} is not a date YYYY-MM-DD") from None


def _claim_segments(claim: dict[str, Any]) -> list[str]:
    """Loop 2300 and its 2400 lines for one claim."""
    cid = _value(str(claim.get("id")), "id", claim.get("id", ""), 38)  # CLM01 is at most 38 characters
    diagnoses = claim.get("diagnoses") or []
    if not diagnoses:
        raise ValueError(f"claim {cid!r}: an 837P needs at least one diagnosis (HI ABK)")
    if len(diagnoses) > 12:
        raise ValueError(f"claim {cid!r}: an 837P carries at most 12 diagnoses; the claim has {len(diagnoses)}")
    lines = claim.get("lines") or []
    if not lines:
        raise ValueError(f"claim {cid!r}: an 837P needs at least one service line")
    if not claim.get("serviceDate"):
        raise ValueError(f"claim {cid!r}: an 837P needs the date of service on every line (serviceDate)")
    service = _d8(cid, "serviceDate", claim["serviceDate"])
    out = [f"CLM*{cid}*0***11:B:1*Y*A*Y*Y"]
    if claim.get("treatmentStart"):
        out.append(f"DTP*454*D8*{_d8(cid, 'treatmentStart', claim['treatmentStart'])}")
    if claim.get("xrayDate"):
        out.append(f"DTP*455*D8*{_d8(cid, 'xrayDate', claim['xrayDate'])}")
    codes = [_value(cid, "diagnoses", str(c).replace(".", "").upper(), 30) for c in diagnoses]
    out.append("HI*" + "*".join(f"{'ABK' if i == 0 else 'ABF'}:{c}" for i, c in enumerate(codes)))
    for n, line in enumerate(lines, start=1):
        where = f"lines[{n - 1}]"
        modifiers = line.get("modifiers") or []
        if len(modifiers) > 4:
            raise ValueError(f"claim {cid!r}: {where}: SV101 carries at most 4 modifiers")
        pointers = line.get("pointers") or [1]
        if len(pointers) > 4:
            raise ValueError(f"claim {cid!r}: {where}: SV107 carries at most 4 diagnosis pointers")
        composite = ":".join(["HC", _value(cid, f"{where}.procedure", line.get("procedure", ""), 48),
                              *(_value(cid, f"{where}.modifiers", m, 2) for m in modifiers)])
        units = _value(cid, f"{where}.units", line.get("units", 1), 15)
        out += [f"LX*{n}",
                f"SV1*{composite}*0*UN*{units}***" + ":".join(_value(cid, f"{where}.pointers", p, 2) for p in pointers),
                f"DTP*472*D8*{service}"]
    return out


#: the most claims (CLM segments) the 005010X222A1 TR3 recommends per transaction set (ST ... SE)
CLAIMS_PER_SET = 5000


def write_837p(claims: list[dict], *, sender_id: str = "M99KGSENDER", receiver_id: str = "M99KGRECEIVER",
               control_number: int = 1, created: dt.datetime | None = None, usage: str = "T",
               claims_per_set: int = CLAIMS_PER_SET) -> str:
    """One interchange (ISA/GS) of transaction sets (ST ... SE) of at most `claims_per_set` claims
    each; in each set a billing-provider HL per provider, a subscriber HL per claim.

    The claim's provider is written as the billing provider (2010AA NM1*85 with its NPI; no 2310B,
    which the TR3 wants only when the rendering NPI differs), its providerType as PRV*BI, its patient
    as the subscriber (SBR02 = 18, self). ValueError names the claim and field that an 837P cannot carry.
    """
    if not claims:
        raise ValueError("no claims to write")
    if not 1 <= control_number <= 999_999_999:
        raise ValueError("control_number must be 1-999999999")
    if claims_per_set < 1:
        raise ValueError("claims_per_set must be at least 1")
    sender = _value("-", "sender_id", sender_id, 15)
    receiver = _value("-", "receiver_id", receiver_id, 15)
    now = created or dt.datetime.now(dt.UTC)
    ctrl = f"{control_number:09d}"
    sets = [_transaction_set(claims[start:start + claims_per_set], f"{n:04d}", sender, receiver, control_number, now)
            for n, start in enumerate(range(0, len(claims), claims_per_set), start=1)]
    if len(sets) > 9999:
        raise ValueError(f"{len(claims)} claims need {len(sets)} transaction sets; ST02 numbers at most 9999")
    segments = [
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender:<15}*ZZ*{receiver:<15}*{now:%y%m%d}*{now:%H%M}*^*00501*{ctrl}*0*{usage}*:",
        f"GS*HC*{sender}*{receiver}*{now:%Y%m%d}*{now:%H%M}*{control_number}*X*005010X222A1",
        *(segment for st in sets for segment in st),
        f"GE*{len(sets)}*{control_number}",
        f"IEA*1*{ctrl}",
    ]
    return "~\n".join(segments) + "~\n"


def _transaction_set(claims: list[dict], st02: str, sender: str, receiver: str, control_number: int,
                     now: dt.datetime) -> list[str]:
    body = [
        "BHT*0019*00*" + f"M99KG{control_number}" + (f"-{int(st02)}" if st02 != "0001" else "")
        + f"*{now:%Y%m%d}*{now:%H%M}*CH",
        f"NM1*41*2*M99KG SUBMITTER*****46*{sender}",
        "PER*IC*M99KG*EM*CLAIMS@EXAMPLE.INVALID",
        f"NM1*40*2*M99KG RECEIVER*****46*{receiver}",
    ]
    table = mappings()
    taxonomy = {token: code for token, (code, _) in table.written_nucc.items()}
    groups: dict[tuple[str, str | None], list[dict]] = {}
    for claim in claims:
        cid = str(claim.get("id"))
        if not claim.get("provider"):
            raise ValueError(f"claim {cid!r}: an 837P needs the provider NPI (provider)")
        if not claim.get("patient"):
            raise ValueError(f"claim {cid!r}: an 837P needs the subscriber identifier (patient)")
        ptype = claim.get("providerType")
        if ptype is not None and ptype not in taxonomy:
            raise ValueError(f"claim {cid!r}: providerType {ptype!r} has no taxonomy; use one of {sorted(taxonomy)}")
        payer = claim.get("payer")
        if payer is not None and payer not in table.written_filing:
            raise ValueError(f"claim {cid!r}: payer {payer!r} has no claim filing indicator; "
                             f"use {' or '.join(sorted(table.written_filing))}")
        groups.setdefault((claim["provider"], ptype), []).append(claim)
    hl = 0
    for (provider, ptype), members in groups.items():
        hl += 1
        parent = hl
        npi = _value(str(members[0].get("id")), "provider", provider, 80)
        body.append(f"HL*{parent}**20*1")
        if ptype:
            body.append(f"PRV*BI*PXC*{taxonomy[ptype]}")
        body += [f"NM1*85*2*M99KG BILLING PROVIDER*****XX*{npi}", "N3*ADDRESS NOT RECORDED",
                 "N4*NOT RECORDED*DC*200010000", "REF*EI*000000000"]
        for claim in members:
            hl += 1
            cid = str(claim.get("id"))
            filing = table.written_filing.get(claim.get("payer"), table.filing_no_payer)
            payer_name = "MEDICARE" if claim.get("payer") == "medicare" else "PAYER NOT RECORDED"  # placeholder
            body += [f"HL*{hl}*{parent}*22*0", f"SBR*P*18*******{filing}",
                     f"NM1*IL*1*NOT RECORDED*PATIENT****MI*{_value(cid, 'patient', claim['patient'], 80)}",
                     "N3*ADDRESS NOT RECORDED", "N4*NOT RECORDED*DC*200010000", "DMG*D8*19000101*U",
                     f"NM1*PR*2*{payer_name}*****PI*PAYER"]
            body += _claim_segments(claim)
    st = [f"ST*837*{st02}*005010X222A1", *body]
    st.append(f"SE*{len(st) + 1}*{st02}")
    return st


#: the claim form's fields an 837P has no element for (docs/x12-837p.md): the writer leaves them out
NOT_IN_837P = ("findings", "visitNumber")


def refusal(claim: dict) -> str | None:
    """Why an 837P cannot carry the claim (the writer's message: 13 diagnoses, 5 pointers on a line,
    no service line, no provider NPI...), or None when it can."""
    try:
        write_837p([claim])
    except ValueError as exc:
        return str(exc)
    return None


def writable_claims(claims: Iterable[dict]) -> Iterator[dict]:
    """The claims an 837P can carry, as its reader gives them back (without NOT_IN_837P); a claim the
    writer refuses (no provider NPI, a payer without a filing code...) is skipped. For benches and tests."""
    for claim in claims:
        kept = {k: v for k, v in claim.items() if k not in NOT_IN_837P}
        if refusal(kept) is None:
            yield kept
