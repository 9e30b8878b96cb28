"""FHIR R4 claims in: a `Claim`, or a `Bundle` of Claims and the resources they reference.

Each Claim is mapped onto the plain JSON claim form (docs/claims.md) and handed to
jsonform.claims_from_objects, so a FHIR claim gives exactly the claim graph its JSON form gives.
The mapping is a format mapping, documented element by element in docs/fhir-mapping.md; the domain
knowledge (which codes exist, which rules apply) stays in the ontology and the shapes.

Structure is checked with the fhir.resources models (R4B, the closest release that package ships to
R4; Claim, Coverage, Observation, Patient and Practitioner did not change between R4 and R4B), one
resource at a time, so a bad resource is reported with its FHIRPath-like location and the other
Claims of a Bundle still load. Only the resources a Claim uses are checked: an unrelated bad
Immunization in a Synthea Bundle does not stop its claims.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from server.claims.accounted import claim_graphs
from server.claims.errors import ClaimInputError
from server.claims.graph import ClaimGraph
from server.claims.jsonform import _CODE, _ID, _MODIFIER, _TOKEN, check_text
from server.claims.mappings import mappings

# Code systems of the standards (recognised on input, written on output).
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"  # WHO ICD-10; accepted because US examples label ICD-10-CM codes with it
ICD10_SYSTEMS = (ICD10CM, ICD10, "urn:oid:2.16.840.1.113883.6.90")
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
NPI = "http://hl7.org/fhir/sid/us-npi"
NUCC = "http://nucc.org/provider-taxonomy"
SOPT = ("https://nahdo.org/sopt", "urn:oid:2.16.840.1.113883.3.221.5")
DEGREE = "http://terminology.hl7.org/CodeSystem/v2-0360"
INFO_CATEGORY = "http://terminology.hl7.org/CodeSystem/claiminformationcategory"
CARE_TEAM_ROLE = "http://terminology.hl7.org/CodeSystem/claimcareteamrole"
DIAGNOSIS_TYPE = "http://terminology.hl7.org/CodeSystem/ex-diagnosistype"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"

# The project's own systems (tokens are those of docs/claims.md, ontology/terms.ttl, ontology/facets.ttl).
PROJECT = "https://w3id.org/m99kg/fhir/"
SYS_CLAIM_ID = PROJECT + "claim-id"
SYS_PATIENT = PROJECT + "patient"
SYS_INFO = PROJECT + "claim-information"
SYS_ELEMENT = PROJECT + "element"
SYS_REGION = PROJECT + "region"
SYS_VALUE = PROJECT + "finding-value"
SYS_PAYER = PROJECT + "payer"
SYS_PROVIDER_TYPE = PROJECT + "provider-type"
INFO_CODES = ("treatment-start", "xray-date", "visit-number", "finding")

# NUCC taxonomy prefixes, v2-0360 degrees and payment typology codes -> claim tokens are data:
# ontology/format-mappings.ttl, read by server.claims.mappings (tables in docs/fhir-mapping.md).
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_CHECKED_TYPES = ("Claim", "Observation", "Patient", "Practitioner", "PractitionerRole", "Coverage",
                  "Organization", "Condition")


def __getattr__(name: str) -> Any:
    """DEGREES and NUCC_PREFIXES, the tables this module once held, built from the Turtle when asked for."""
    if name == "DEGREES":
        return dict(mappings().degrees)
    if name == "NUCC_PREFIXES":
        prefixes = mappings().nucc_prefixes
        return tuple((p, prefixes[p]) for p in sorted(prefixes, key=lambda p: (-len(p), p)))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _fail(where: str, problem: str) -> None:
    raise ClaimInputError(where, problem)


@cache
def _model(resource_type: str):
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def _fhirpath(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and re.match(r"^_?[A-Za-z][A-Za-z0-9]*$", part):
            out += f".{part}"
    return out


def check_structure(resource: dict, where: str) -> None:
    """Raise ClaimInputError at the first element that is not valid FHIR structure (fhir.resources R4B)."""
    from pydantic import ValidationError

    try:
        _model(resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        msg = re.sub(r"^Value error, ", "", first["msg"])
        _fail(where + _fhirpath(tuple(first["loc"])), f"not valid FHIR R4: {msg}")
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # fhir.resources fails this way on some malformed input (an unknown resourceType deep inside, say)
        detail = f"{type(exc).__name__} {exc}"[:200]
        _fail(where, f"not valid FHIR R4: the FHIR model could not read this resource ({detail})")


def _label(resource: dict) -> str:
    rid = resource.get("id")
    return f"{resource.get('resourceType')}/{rid}" if isinstance(rid, str) else str(resource.get("resourceType"))


@dataclass
class _Doc:
    """The resources of one document, indexed the ways a FHIR reference can name them."""

    source: str
    is_bundle: bool
    resources: list[tuple[dict, str]] = field(default_factory=list)  # (resource, where)
    by_url: dict[str, int] = field(default_factory=dict)
    by_type_id: dict[tuple[str, str], int] = field(default_factory=dict)
    checked: set[int] = field(default_factory=set)

    def add(self, resource: dict, where: str, full_url: str | None) -> None:
        index = len(self.resources)
        self.resources.append((resource, where))
        if full_url:
            self.by_url.setdefault(full_url, index)
        if isinstance(resource.get("id"), str):
            self.by_type_id.setdefault((resource["resourceType"], resource["id"]), index)

    def checked_resource(self, index: int) -> tuple[dict, str]:
        resource, where = self.resources[index]
        if index not in self.checked and resource.get("resourceType") in _CHECKED_TYPES:
            check_structure(resource, where)
        self.checked.add(index)
        return resource, where

    def _by_identifier(self, rtype: str | None, system: str | None, value: str) -> int | None:
        for index, (res, _) in enumerate(self.resources):
            if rtype and res.get("resourceType") != rtype:
                continue
            for ident in res.get("identifier") or []:
                if not isinstance(ident, dict) or ident.get("value") != value:
                    continue
                if not system or ident.get("system") == system:
                    return index
        return None

    def resolve(self, ref: Any, container: dict, container_where: str) -> tuple[dict, str] | None:
        """The resource a Reference names (contained, in the Bundle, conditional, or by identifier), or None."""
        if not isinstance(ref, dict):
            return None
        target = ref.get("reference")
        if isinstance(target, str) and target.startswith("#"):
            for k, res in enumerate(container.get("contained") or []):
                if isinstance(res, dict) and res.get("id") == target[1:]:
                    where = f"{container_where}.contained[{k}]({_label(res)})"
                    if res.get("resourceType") in _CHECKED_TYPES:
                        check_structure(res, where)
                    return res, where
            return None
        index = None
        if isinstance(target, str):
            if target in self.by_url:
                index = self.by_url[target]
            elif "?" in target:
                rtype, _, query = target.partition("?")
                m = re.match(r"^identifier=(?:([^|&]*)\|)?([^&]+)$", query)
                if m:
                    index = self._by_identifier(rtype, m.group(1) or None, m.group(2))
            else:
                m = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$", target)
                if m:
                    index = self.by_type_id.get((m.group(1), m.group(2)))
        ident = ref.get("identifier")
        if index is None and isinstance(ident, dict) and isinstance(ident.get("value"), str):
            index = self._by_identifier(ref.get("type"), ident.get("system"), ident["value"])
        return None if index is None else self.checked_resource(index)


# --- small readers of FHIR datatypes -------------------------------------------------------------

def _codings(concept: Any) -> list[tuple[int, dict]]:
    if not isinstance(concept, dict):
        return []
    return [(j, c) for j, c in enumerate(concept.get("coding") or []) if isinstance(c, dict)]


def _code_in(concept: Any, systems: tuple[str, ...] | str) -> tuple[int, str] | None:
    systems = (systems,) if isinstance(systems, str) else systems
    for j, c in _codings(concept):
        if c.get("system") in systems and isinstance(c.get("code"), str):
            return j, c["code"]
    return None


def _token(concept: Any, system: str, where: str, what: str) -> str | None:
    found = _code_in(concept, system)
    if found is None:
        return None
    j, code = found
    if not _TOKEN.match(code):
        _fail(f"{where}.coding[{j}].code", f"{code!r} is not a {what} token (lower-case letters and '-')")
    return code


def _date(value: Any, where: str) -> str:
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        _fail(where, "expected a full date YYYY-MM-DD (a year or year-month alone cannot be a claim date)")
    return value[:10]


def _positive_int(value: Any, where: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value) or value < 1:
        _fail(where, f"expected a positive integer ({what}), found {value!r}")
    return int(value)


def _by_sequence(items: Any) -> list[tuple[int, dict]]:
    """(index in the resource, element) sorted by `sequence` (elements without one keep their place)."""
    pairs = [(i, x) for i, x in enumerate(items or []) if isinstance(x, dict)]
    return sorted(pairs, key=lambda p: (p[1].get("sequence") if isinstance(p[1].get("sequence"), int) else 10**9, p[0]))


# --- the mapping ---------------------------------------------------------------------------------

def _claim_id(claim: dict, where: str) -> str:
    for k, ident in enumerate(claim.get("identifier") or []):
        if isinstance(ident, dict) and ident.get("system") == SYS_CLAIM_ID:
            if not isinstance(ident.get("value"), str) or not _ID.match(ident["value"]):
                _fail(f"{where}.identifier[{k}].value", "a claim id: 1-64 letters, digits, '.', '_', '~' or '-'")
            return ident["value"]
    raw = claim.get("id")
    if not isinstance(raw, str):
        raw = next((i.get("value") for i in claim.get("identifier") or []
                    if isinstance(i, dict) and isinstance(i.get("value"), str)), None)
    if raw is None:
        _fail(where, "the Claim has neither an id nor an identifier, so it cannot be named")
    clean = re.sub(r"[^A-Za-z0-9._~-]", "-", raw).lstrip("._~-")[:64]
    if not clean:
        _fail(f"{where}.identifier", f"{raw!r} has no letter or digit to make a claim id from")
    return clean


def _identifier_of(resource: dict, system: str | None = None) -> str | None:
    idents = [i for i in resource.get("identifier") or [] if isinstance(i, dict) and isinstance(i.get("value"), str)]
    if system is not None:
        return next((i["value"] for i in idents if i.get("system") == system), None)
    for chosen in ([i for i in idents if i.get("system") == SYS_PATIENT],
                   [i for i in idents if _code_in(i.get("type"), "http://terminology.hl7.org/CodeSystem/v2-0203")
                    and _code_in(i.get("type"), "http://terminology.hl7.org/CodeSystem/v2-0203")[1] == "MR"],
                   idents):
        if chosen:
            return chosen[0]["value"]
    return None


def _patient(claim: dict, where: str, doc: _Doc) -> str | None:
    ref = claim.get("patient")
    found = doc.resolve(ref, claim, where)
    if found and found[0].get("resourceType") == "Patient":
        return _identifier_of(found[0])
    ident = ref.get("identifier") if isinstance(ref, dict) else None
    return ident.get("value") if isinstance(ident, dict) and isinstance(ident.get("value"), str) else None


def _npi_of(ref: Any, claim: dict, where: str, doc: _Doc) -> tuple[str | None, list[tuple[dict, str]]]:
    """The NPI a provider reference leads to, and the resources on the way (for the provider type)."""
    if isinstance(ref, dict) and isinstance(ref.get("identifier"), dict) and ref["identifier"].get("system") == NPI:
        return ref["identifier"].get("value"), []
    found = doc.resolve(ref, claim, where)
    if found is None:
        return None, []
    res, rwhere = found
    chain = [found]
    npi = _identifier_of(res, NPI)
    if npi is None and res.get("resourceType") == "PractitionerRole":
        inner = doc.resolve(res.get("practitioner"), res, rwhere)
        if inner is not None:
            chain.append(inner)
            npi = _identifier_of(inner[0], NPI)
    return npi, chain


def _provider_type_of(concepts: list[Any]) -> str | None:
    for concept in concepts:
        found = _code_in(concept, SYS_PROVIDER_TYPE)
        if found:
            return found[1]
    table = mappings()
    for concept in concepts:
        found = _code_in(concept, NUCC)
        if found:
            token = table.provider_type(found[1])
            if token is not None:
                return token
        for _, c in _codings(concept):
            if str(c.get("system", "")).startswith(DEGREE) and isinstance(c.get("code"), str):
                token = table.degree_provider_type(c["code"])
                if token is not None:
                    return token
    return None


def _provider(claim: dict, where: str, doc: _Doc) -> tuple[str | None, str | None]:
    """(rendering provider NPI, providerType): the primary care-team member, else the first, else Claim.provider."""
    team = _by_sequence(claim.get("careTeam"))
    primary = [p for p in team if (_code_in(p[1].get("role"), CARE_TEAM_ROLE) or (0, ""))[1] == "primary"]
    npi, chain, concepts = None, [], []
    if team:
        k, member = (primary or team)[0]
        npi, chain = _npi_of(member.get("provider"), claim, f"{where}.careTeam[{k}].provider", doc)
        concepts.append(member.get("qualification"))
    if npi is None:
        npi, more = _npi_of(claim.get("provider"), claim, f"{where}.provider", doc)
        chain += more
    for res, _ in chain:
        if res.get("resourceType") == "PractitionerRole":
            concepts += [*(res.get("specialty") or []), *(res.get("code") or [])]
        if res.get("resourceType") == "Practitioner":
            concepts += [q.get("code") for q in res.get("qualification") or [] if isinstance(q, dict)]
    kind = _provider_type_of(concepts)
    if kind is not None and not _TOKEN.match(kind):
        _fail(f"{where}.careTeam", f"provider type {kind!r} is not a token")
    return npi, kind


def _payer(claim: dict, where: str, doc: _Doc) -> str | None:
    """medicare / commercial / a project token, or None when the Claim names no payer (docs/fhir-mapping.md)."""
    insurance = _by_sequence(claim.get("insurance"))
    insurance.sort(key=lambda p: not p[1].get("focal"))
    if not insurance:
        return None
    k, ins = insurance[0]
    iwhere = f"{where}.insurance[{k}]"
    ref = ins.get("coverage")
    names: list[str] = []
    if isinstance(ref, dict) and isinstance(ref.get("display"), str):
        names.append(ref["display"])
    found = doc.resolve(ref, claim, f"{iwhere}.coverage")
    identified = isinstance(ref, dict) and isinstance(ref.get("identifier"), dict)
    if found and found[0].get("resourceType") == "Coverage":
        cov, cwhere = found
        token = _token(cov.get("type"), SYS_PAYER, f"{cwhere}.type", "payer")
        if token:
            return token
        sopt = _code_in(cov.get("type"), SOPT)
        if sopt:
            return mappings().sopt_payer(sopt[1])
        for payor in cov.get("payor") or []:
            if not isinstance(payor, dict):
                continue
            identified = identified or isinstance(payor.get("identifier"), dict)
            if isinstance(payor.get("display"), str):
                names.append(payor["display"])
            org = doc.resolve(payor, cov, cwhere)
            if org and isinstance(org[0].get("name"), str):
                names.append(org[0]["name"])
    return mappings().payor_name_payer(names, identified)


def _diagnoses(claim: dict, where: str, doc: _Doc) -> tuple[list[str], dict[int, int | None]]:
    """ICD-10(-CM) codes in claim order (principal first), and sequence -> 1-based position (None: skipped)."""
    ordered = _by_sequence(claim.get("diagnosis"))
    principal = [p for p in ordered if any((_code_in(t, DIAGNOSIS_TYPE) or (0, ""))[1] == "principal"
                                          for t in p[1].get("type") or [])]
    if principal:
        ordered.remove(principal[0])
        ordered.insert(0, principal[0])
    codes: list[str] = []
    positions: dict[int, int | None] = {}
    for k, dx in ordered:
        dwhere = f"{where}.diagnosis[{k}]"
        concept, cwhere = dx.get("diagnosisCodeableConcept"), f"{dwhere}.diagnosisCodeableConcept"
        if "diagnosisReference" in dx:
            found = doc.resolve(dx["diagnosisReference"], claim, f"{dwhere}.diagnosisReference")
            if found is None:
                _fail(f"{dwhere}.diagnosisReference", f"reference {_ref_text(dx['diagnosisReference'])} does not "
                      "resolve: the Condition must be contained or in the Bundle")
            concept, cwhere = found[0].get("code"), f"{found[1]}.code"
        hit = _code_in(concept, ICD10_SYSTEMS)
        seq = dx.get("sequence")
        if hit is None:
            positions[seq] = None
            continue
        j, code = hit
        if not _CODE.match(code):
            _fail(f"{cwhere}.coding[{j}].code", f"{code!r} is not an ICD-10-CM code (letters, digits and '.')")
        codes.append(code)
        positions[seq] = len(codes)
    return codes, positions


def _ref_text(ref: Any) -> str:
    if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        return repr(ref["reference"])
    return json.dumps(ref)[:80]


def _lines(claim: dict, where: str, positions: dict[int, int | None]) -> tuple[list[dict], list[str]]:
    """Items with a CPT code become lines; returns them and every item's service date."""
    lines, dates = [], []
    for k, item in _by_sequence(claim.get("item")):
        iwhere = f"{where}.item[{k}]"
        if "servicedDate" in item:
            dates.append(_date(item["servicedDate"], f"{iwhere}.servicedDate"))
        elif isinstance(item.get("servicedPeriod"), dict) and "start" in item["servicedPeriod"]:
            dates.append(_date(item["servicedPeriod"]["start"], f"{iwhere}.servicedPeriod.start"))
        hit = _code_in(item.get("productOrService"), CPT)
        if hit is None:
            continue
        j, code = hit
        if not _CODE.match(code):
            _fail(f"{iwhere}.productOrService.coding[{j}].code", f"{code!r} is not a CPT code")
        modifiers = []
        for m, concept in enumerate(item.get("modifier") or []):
            codings = _codings(concept)
            preferred = [c for c in codings if c[1].get("system") in (CPT, HCPCS)] or codings
            if not preferred or not isinstance(preferred[0][1].get("code"), str):
                _fail(f"{iwhere}.modifier[{m}]", "expected a coded modifier (coding.code)")
            mj, mod = preferred[0]
            if not _MODIFIER.match(mod["code"]):
                _fail(f"{iwhere}.modifier[{m}].coding[{mj}].code", f"{mod['code']!r} is not a two-character modifier")
            modifiers.append(mod["code"])
        line: dict[str, Any] = {"procedure": code, "modifiers": modifiers}
        quantity = item.get("quantity")
        if isinstance(quantity, dict) and "value" in quantity:
            line["units"] = _positive_int(quantity["value"], f"{iwhere}.quantity.value", "service units")
        pointers = []
        for seq in item.get("diagnosisSequence") or []:
            if seq in positions:
                if positions[seq] is not None:
                    pointers.append(positions[seq])
            else:
                pointers.append(seq)  # points at no diagnosis: kept as written, the pointer rules report it
        line["pointers"] = pointers
        lines.append(line)
    return lines, dates


def _finding(obs: dict, where: str) -> dict | None:
    """An Observation with a project element code as a finding; other Observations are not findings."""
    element = _token(obs.get("code"), SYS_ELEMENT, f"{where}.code", "documentation element")
    if element is None:
        return None
    finding: dict[str, Any] = {}
    if "bodySite" in obs:
        region = _token(obs["bodySite"], SYS_REGION, f"{where}.bodySite", "region")
        if region is None:
            _fail(f"{where}.bodySite", f"no coding in {SYS_REGION}: the region of a finding is one of the "
                  "project's region tokens (docs/claims.md)")
        finding["region"] = region
    finding["element"] = element
    if isinstance(obs.get("valueString"), str):
        finding["text"] = obs["valueString"]
    else:
        notes = [n["text"] for n in obs.get("note") or [] if isinstance(n, dict) and isinstance(n.get("text"), str)]
        if notes:
            finding["text"] = "\n".join(notes)
    if "valueCodeableConcept" in obs:
        value = _token(obs["valueCodeableConcept"], SYS_VALUE, f"{where}.valueCodeableConcept", "finding value")
        if value is None:
            _fail(f"{where}.valueCodeableConcept", f"no coding in {SYS_VALUE}: a finding's value is a mechanism "
                  "or site token such as 'connective-tissue'")
        finding["value"] = value
    return finding


def _supporting_info(claim: dict, where: str, doc: _Doc, obj: dict) -> None:
    findings = []
    for k, info in _by_sequence(claim.get("supportingInfo")):
        swhere = f"{where}.supportingInfo[{k}]"
        target = None
        if "valueReference" in info:
            target = doc.resolve(info["valueReference"], claim, f"{swhere}.valueReference")
            if target is None:
                scope = "in the Bundle" if doc.is_bundle else "(a single Claim can only refer to contained resources)"
                _fail(f"{swhere}.valueReference",
                      f"reference {_ref_text(info['valueReference'])} does not resolve {scope}")
        code = _code_in(info.get("code"), SYS_INFO) or _code_in(info.get("category"), SYS_INFO)
        kind = code[1] if code else None
        if kind is not None and kind not in INFO_CODES:
            _fail(f"{swhere}.code", f"unknown {SYS_INFO} code {kind!r}; known: {', '.join(INFO_CODES)}")
        if kind in ("treatment-start", "xray-date"):
            obj["treatmentStart" if kind == "treatment-start" else "xrayDate"] = _date(
                info.get("timingDate"), f"{swhere}.timingDate")
        elif kind == "visit-number":
            quantity = info.get("valueQuantity")
            obj["visitNumber"] = _positive_int(quantity.get("value") if isinstance(quantity, dict) else None,
                                               f"{swhere}.valueQuantity.value", "visit number")
        elif target is not None and target[0].get("resourceType") == "Observation":
            finding = _finding(*target)
            if finding is not None:
                findings.append(finding)
            elif kind == "finding":
                _fail(f"{target[1]}.code", f"a finding's Observation needs a coding in {SYS_ELEMENT}")
        elif kind == "finding":
            _fail(f"{swhere}.valueReference", "a finding is a reference to an Observation")
    if findings:
        obj["findings"] = findings


def _claim_object(claim: dict, where: str, doc: _Doc) -> dict:
    check_structure(claim, where)
    obj: dict[str, Any] = {"id": _claim_id(claim, where)}
    payer = _payer(claim, where, doc)
    npi, kind = _provider(claim, where, doc)
    patient = _patient(claim, where, doc)
    for key, value in (("payer", payer), ("providerType", kind), ("provider", npi), ("patient", patient)):
        if value is not None:
            obj[key] = value
    diagnoses, positions = _diagnoses(claim, where, doc)
    lines, dates = _lines(claim, where, positions)
    if dates:
        obj["serviceDate"] = min(dates)
    elif isinstance(claim.get("billablePeriod"), dict) and "start" in claim["billablePeriod"]:
        obj["serviceDate"] = _date(claim["billablePeriod"]["start"], f"{where}.billablePeriod.start")
    _supporting_info(claim, where, doc, obj)
    obj["diagnoses"] = diagnoses
    obj["lines"] = lines
    return obj


def _document(text: str, source: str) -> tuple[_Doc, list[tuple[dict, str]]]:
    """Parse the text and index its resources; returns the Claims to map with where each is."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ClaimInputError(f"{source}:{exc.lineno}:{exc.colno}", f"not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        _fail(source, "expected one FHIR resource (a Claim or a Bundle of Claims) as a JSON object")
    rtype = data.get("resourceType")
    check_text(data, f"{source}: {rtype if rtype in ('Claim', 'Bundle') else 'resource'}")
    if rtype == "Claim":
        where = f"{source}: Claim" + (f"({data['id']})" if isinstance(data.get("id"), str) else "")
        doc = _Doc(source, False)
        doc.add(data, where, None)
        return doc, [(data, where)]
    if rtype != "Bundle":
        _fail(f"{source}: {rtype}" if isinstance(rtype, str) else source,
              f"resourceType {rtype!r} is not imported: expected a Claim or a Bundle holding Claims"
              + (" (an ExplanationOfBenefit is the payer's adjudication, not the claim sent)"
                 if rtype == "ExplanationOfBenefit" else ""))
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        _fail(f"{source}: Bundle.entry", "expected a list of entries")
    doc = _Doc(source, True)
    claims = []
    for i, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            _fail(f"{source}: Bundle.entry[{i}]", "expected an entry with a resource that has a resourceType")
        where = f"{source}: Bundle.entry[{i}].resource({_label(resource)})"
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        doc.add(resource, where, full_url)
        if resource["resourceType"] == "Claim":
            claims.append((resource, where))
    if not claims:
        _fail(f"{source}: Bundle", "the Bundle holds no Claim resources")
    return doc, claims


def claim_objects_from_fhir(text: str, source: str = "<input>",
                            errors: list[ClaimInputError] | None = None) -> tuple[list[dict], list[str]]:
    """The Claims of a FHIR document as plain JSON claim objects, with where each one is.

    A document that is not JSON, not a Claim or Bundle, or a Bundle without Claims raises
    ClaimInputError. A Claim that cannot be mapped raises too, unless `errors` is given: then the
    error is recorded there and the other Claims of the Bundle are still returned.
    """
    doc, claims = _document(text, source)
    items, wheres = [], []
    for claim, where in claims:
        try:
            items.append(_claim_object(claim, where, doc))
        except ClaimInputError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        wheres.append(where)
    return items, wheres


def claims_from_fhir(text: str, source: str = "<input>",
                     errors: list[ClaimInputError] | None = None) -> list[ClaimGraph]:
    """The Claims of a FHIR R4 Claim or Bundle as claim graphs (through the plain JSON form)."""
    items, wheres = claim_objects_from_fhir(text, source, errors)
    return claim_graphs(items, source, errors, wheres)
