"""FHIR R4 claims out: plain JSON claim objects as one Bundle (type collection).

The Bundle carries every field of the JSON form, so that fhir.claim_objects_from_fhir reads back
exactly the objects written (in the reader's canonical form: `diagnoses`, `lines`, a line's
`modifiers` and `pointers` always present, `findings` only when there are some). The project's
own values travel in the project's code systems (https://w3id.org/m99kg/fhir/...); where a
standard code exists (ICD-10-CM, CPT, NUCC taxonomy, Source of Payment Typology, NPI) it is
written too, so other FHIR tools can read the Bundle. Ids and fullUrls are derived from the
claim contents, so writing the same claims twice gives the same Bundle.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from server.claims import fhir as f
from server.claims.errors import ClaimInputError
from server.claims.jsonform import check_claim
from server.claims.mappings import mappings

_NAMESPACE = uuid.UUID("6f1d3c2e-5b0a-4e8f-9c61-0d2a7b94e5a1")  # fixed: fullUrls are stable across runs
# The standard codes written per payer and providerType (NUCC_CODES, SOPT_CODES, PAYOR_NAMES) are data:
# ontology/format-mappings.ttl, read by server.claims.mappings.
_ABSENT = {"extension": [{"url": f.DATA_ABSENT, "valueCode": "unknown"}]}


def __getattr__(name: str) -> Any:
    """NUCC_CODES, SOPT_CODES and PAYOR_NAMES, the tables this module once held, built from the Turtle."""
    table = mappings()
    if name == "NUCC_CODES":
        return dict(table.written_nucc)
    if name == "SOPT_CODES":
        return dict(table.written_sopt)
    if name == "PAYOR_NAMES":
        return dict(table.payor_names)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _hash_id(prefix: str, key: str) -> str:
    return f"{prefix}-{hashlib.sha1(key.encode('utf-8')).hexdigest()[:16]}"


def _full_url(resource: dict) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, resource['resourceType'] + '/' + resource['id'])}"


def _coding(system: str, code: str, display: str | None = None) -> dict:
    out = {"system": system, "code": code}
    if display:
        out["display"] = display
    return out


def _concept(*codings: dict) -> dict:
    return {"coding": list(codings)}


class _Bundle:
    """Collects resources once each (patients, practitioners, coverages are shared by claims)."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.urls: dict[tuple[str, str], str] = {}

    def add(self, resource: dict) -> dict:
        """Add the resource unless present; return a Reference to it."""
        key = (resource["resourceType"], resource["id"])
        if key not in self.urls:
            self.urls[key] = _full_url(resource)
            self.entries.append({"fullUrl": self.urls[key], "resource": resource})
        return {"reference": self.urls[key]}


def _patient(bundle: _Bundle, claim: dict) -> dict | None:
    if "patient" not in claim:
        return None
    return bundle.add({"resourceType": "Patient", "id": _hash_id("patient", claim["patient"]),
                       "identifier": [{"system": f.SYS_PATIENT, "value": claim["patient"]}]})


def _practitioner(bundle: _Bundle, claim: dict) -> dict | None:
    if "provider" not in claim:
        return None
    return bundle.add({"resourceType": "Practitioner", "id": _hash_id("practitioner", claim["provider"]),
                       "identifier": [{"system": f.NPI, "value": claim["provider"]}]})


def _coverage(bundle: _Bundle, claim: dict, patient: dict | None) -> dict:
    payer = claim.get("payer")
    if payer is None:
        return dict(_ABSENT)
    table = mappings()
    codings = [_coding(f.SYS_PAYER, payer)]
    if payer in table.written_sopt:
        codings.append(_coding(f.SOPT[0], *table.written_sopt[payer]))
    return bundle.add({
        "resourceType": "Coverage", "id": _hash_id("coverage", f"{claim.get('patient', '')}|{payer}"),
        "status": "active", "type": _concept(*codings), "beneficiary": patient or dict(_ABSENT),
        "payor": [{"display": table.payor_names.get(payer, payer)}],
    })


def _care_team(claim: dict, practitioner: dict | None) -> list[dict]:
    if practitioner is None and "providerType" not in claim:
        return []
    member: dict[str, Any] = {"sequence": 1, "provider": practitioner or dict(_ABSENT), "responsible": True,
                              "role": _concept(_coding(f.CARE_TEAM_ROLE, "primary", "Primary provider"))}
    kind = claim.get("providerType")
    if kind is not None:
        codings = [_coding(f.SYS_PROVIDER_TYPE, kind)]
        written = mappings().written_nucc.get(kind)
        if written is not None:
            codings.append(_coding(f.NUCC, *written))
        member["qualification"] = _concept(*codings)
    return [member]


def _info(sequence: int, code: str, **value: Any) -> dict:
    category = "info"
    return {"sequence": sequence, "category": _concept(_coding(f.INFO_CATEGORY, category)),
            "code": _concept(_coding(f.SYS_INFO, code)), **value}


def _observation(bundle: _Bundle, claim_key: str, n: int, finding: dict, patient: dict | None) -> dict:
    obs: dict[str, Any] = {"resourceType": "Observation", "id": _hash_id("finding", f"{claim_key}|{n}"),
                           "status": "final", "code": _concept(_coding(f.SYS_ELEMENT, finding["element"]))}
    if patient is not None:
        obs["subject"] = patient
    if "region" in finding:
        obs["bodySite"] = _concept(_coding(f.SYS_REGION, finding["region"]))
    if "value" in finding:
        obs["valueCodeableConcept"] = _concept(_coding(f.SYS_VALUE, finding["value"]))
        if "text" in finding:
            obs["note"] = [{"text": finding["text"]}]
    elif "text" in finding:
        obs["valueString"] = finding["text"]
    return bundle.add(obs)


def _modifier(code: str) -> dict:
    return _concept(_coding(f.CPT if code.isdigit() else f.HCPCS, code))


def _claim(bundle: _Bundle, claim: dict, where: str) -> dict:
    cid = claim["id"] if f._FHIR_ID.match(claim["id"]) else _hash_id("claim", claim["id"])
    patient = _patient(bundle, claim)
    practitioner = _practitioner(bundle, claim)
    coverage = _coverage(bundle, claim, patient)
    service_date = claim.get("serviceDate")
    info = []
    for key, code in (("treatmentStart", "treatment-start"), ("xrayDate", "xray-date")):
        if key in claim:
            info.append(_info(len(info) + 1, code, timingDate=claim[key]))
    if "visitNumber" in claim:
        info.append(_info(len(info) + 1, "visit-number", valueQuantity={"value": claim["visitNumber"]}))
    for n, finding in enumerate(claim.get("findings", []), start=1):
        info.append(_info(len(info) + 1, "finding",
                          valueReference=_observation(bundle, claim["id"], n, finding, patient)))
    diagnoses = []
    for n, code in enumerate(claim.get("diagnoses", []), start=1):
        dx: dict[str, Any] = {"sequence": n, "diagnosisCodeableConcept": _concept(_coding(f.ICD10CM, code))}
        if n == 1:
            dx["type"] = [_concept(_coding(f.DIAGNOSIS_TYPE, "principal", "Principal Diagnosis"))]
        diagnoses.append(dx)
    items = []
    for n, line in enumerate(claim.get("lines", []), start=1):
        item: dict[str, Any] = {"sequence": n, "productOrService": _concept(_coding(f.CPT, line["procedure"]))}
        if line.get("modifiers"):
            item["modifier"] = [_modifier(m) for m in line["modifiers"]]
        for k, pointer in enumerate(line.get("pointers", [])):
            if pointer < 1:
                raise ClaimInputError(f"{where}.lines[{n - 1}].pointers[{k}]",
                                      f"pointer {pointer} cannot be written: FHIR diagnosisSequence is a positive "
                                      "integer")
        if line.get("pointers"):
            item["diagnosisSequence"] = list(line["pointers"])
        if "units" in line:
            item["quantity"] = {"value": line["units"]}
        if service_date is not None:
            item["servicedDate"] = service_date
        items.append(item)
    resource: dict[str, Any] = {
        "resourceType": "Claim", "id": cid,
        "identifier": [{"system": f.SYS_CLAIM_ID, "value": claim["id"]}],
        "status": "active",
        "type": _concept(_coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional")),
        "use": "claim",
        "patient": patient or dict(_ABSENT),
    }
    if service_date is not None:
        resource["billablePeriod"] = {"start": service_date, "end": service_date}
    resource |= {
        "created": service_date or "1970-01-01",
        "provider": practitioner or dict(_ABSENT),
        "priority": _concept(_coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal")),
    }
    for key, value in (("careTeam", _care_team(claim, practitioner)), ("supportingInfo", info),
                       ("diagnosis", diagnoses)):
        if value:
            resource[key] = value
    resource["insurance"] = [{"sequence": 1, "focal": True, "coverage": coverage}]
    if items:
        resource["item"] = items
    return resource


def write_fhir_bundle(claims: list[dict]) -> dict:
    """A FHIR R4 Bundle (type collection) holding the claims and the resources they refer to.

    Each claim is checked against the JSON form first (ClaimInputError naming `claims[i].field`).
    """
    bundle = _Bundle()
    seen: dict[str, str] = {}
    for i, claim in enumerate(claims):
        where = f"claims[{i}]"
        check_claim(claim, where)
        resource = _claim(bundle, claim, where)
        if resource["id"] in seen:
            raise ClaimInputError(f"{where}.id", f"claim {claim['id']!r} appears twice")
        seen[resource["id"]] = claim["id"]
        bundle.add(resource)
    return {"resourceType": "Bundle", "type": "collection", "entry": bundle.entries}
