"""Code spelling: the dotted and undotted forms of ICD-10-CM codes, and their IRIs.

Claims write codes either way (X12 sends M9904, FHIR and people write M99.04); the graph keeps one
IRI per code, with the dot, as BioPortal does.
"""

from __future__ import annotations

import re

from server.namespaces import CPT, ICD9CM, ICD10CM

_ICD10_UNDOTTED = re.compile(r"^[A-Z][0-9][0-9A-Z]{1,5}$")
_ICD10_DOTTED = re.compile(r"^[A-Z][0-9][0-9A-Z]\.[0-9A-Z]{1,4}$")
_ICD10_CATEGORY = re.compile(r"^[A-Z][0-9][0-9A-Z]$")
_CPT = re.compile(r"^[0-9]{4}[0-9A-Z]$")


class CodeFormatError(ValueError):
    """The text cannot be an ICD-10-CM (or CPT) code at all, whatever the code set says."""


def normalize_icd10cm(text: str) -> str:
    """Return the dotted notation of an ICD-10-CM code written with or without the dot.

    Raises CodeFormatError when the text is not shaped like an ICD-10-CM code; whether the code
    exists is a question for the code set, not for this function.
    """
    code = text.strip().upper()
    if _ICD10_DOTTED.match(code) or _ICD10_CATEGORY.match(code):
        return code
    if _ICD10_UNDOTTED.match(code):
        return code[:3] + "." + code[3:]
    raise CodeFormatError(
        f"{text!r} is not an ICD-10-CM code: expected a letter, two characters, and up to four more "
        "after an optional dot (for example M99.04 or M9904)"
    )


def icd10cm_iri(text: str) -> str:
    return ICD10CM + normalize_icd10cm(text)


def undotted(code: str) -> str:
    return code.replace(".", "")


def icd9_dotted(code: str) -> str:
    """ICD-9-CM diagnosis codes: 7394 -> 739.4, V1234 -> V12.34, E8001 -> E800.1."""
    code = code.strip().upper()
    head = 4 if code.startswith("E") else 3
    return code if len(code) <= head else code[:head] + "." + code[head:]


def icd9_iri(code: str) -> str:
    return ICD9CM + icd9_dotted(code)


def normalize_cpt(text: str) -> str:
    code = text.strip().upper()
    if not _CPT.match(code):
        raise CodeFormatError(f"{text!r} is not a CPT code: expected five characters such as 98940")
    return code


def cpt_iri(text: str) -> str:
    return CPT + normalize_cpt(text)


def notation_from_iri(iri: str) -> str:
    """The code written in an IRI of one of the three code systems."""
    for base in (ICD10CM, ICD9CM, CPT):
        if iri.startswith(base):
            return iri[len(base) :]
    raise ValueError(f"{iri} is not a code IRI")
