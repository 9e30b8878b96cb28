"""The format code mappings of ontology/format-mappings.ttl, as typed lookups for the claim readers and writers.

Why a module of its own: which NUCC taxonomy, SBR09 filing indicator, payment typology or degree
code means which payer or provider type is data (documented in docs/fhir-mapping.md and
docs/x12-837p.md), so it lives in Turtle next to the payer and provider-type individuals; the FHIR
and X12 modules only ask this module. The file is read once per process (pyoxigraph, about 10 ms)
and checked when read: a code that two tokens claim, or a written code that would not read back,
is refused with the file named, so an edit cannot silently change a round trip.

Matching rules: a longer prefix wins over a shorter one, and a code nothing matches gets the code
list's fallback payer or no value. Both readers share one NUCC taxonomy table, so the same claim
gets the same provider type from FHIR and from 837P.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

import pyoxigraph as ox

from server import resources
from server.namespaces import M99

FILE_NAME = "format-mappings.ttl"
TOKENS_FILE = "claims.ttl"  # the payer and provider-type individuals, with their m99:claimValue tokens
CODE_LIST = "https://w3id.org/m99kg/id/code-list/"
SOPT_LIST = CODE_LIST + "sopt"
X12_FILING_LIST = CODE_LIST + "x12-claim-filing"
PAYOR_NAME_LIST = CODE_LIST + "fhir-payor-name"


class MappingError(ValueError):
    """The mappings file says something the readers and writers cannot use (names the file and the fact)."""


@dataclass(frozen=True)
class FormatMappings:
    """Every mapping of the file; dict-like fields are read-only views."""

    nucc_prefixes: Mapping[str, str]               # NUCC code prefix -> providerType (both readers)
    degrees: Mapping[str, str]                     # v2-0360 degree -> providerType (FHIR reader)
    written_nucc: Mapping[str, tuple[str, str]]    # providerType -> (NUCC code, display) (both writers)
    filing_codes: Mapping[str, str]                # SBR09 -> payer (837P reader)
    written_filing: Mapping[str, str]              # payer -> SBR09 (837P writer)
    filing_no_payer: str                           # SBR09 written for a claim without payer
    sopt_prefixes: Mapping[str, str | None]        # typology prefix -> payer, None = "no payer" (FHIR reader)
    sopt_fallback: str | None                      # payer of a typology code no prefix matches
    written_sopt: Mapping[str, tuple[str, str]]    # payer -> (typology code, display) (FHIR writer)
    payor_keywords: Mapping[str, str]              # casefolded keyword in a payor name -> payer (FHIR reader)
    payor_fallback: str | None                     # payer of any other named or identified payor
    payor_names: Mapping[str, str]                 # payer -> Coverage.payor display (FHIR writer)

    def provider_type(self, nucc_code: str) -> str | None:
        """providerType of a NUCC taxonomy code (as the reader normalised it; longest prefix first), or None."""
        return _match(nucc_code, self.nucc_prefixes)

    def degree_provider_type(self, degree: str) -> str | None:
        return self.degrees.get(degree)

    def filing_payer(self, code: str) -> str | None:
        """Payer of an SBR09 claim filing indicator; None for the codes no payer lists."""
        return self.filing_codes.get(code)

    def sopt_payer(self, code: str) -> str | None:
        """Payer of a Source of Payment Typology code: its longest listed prefix, else the fallback payer."""
        for prefix in _longest_first(self.sopt_prefixes):
            if code.startswith(prefix):
                return self.sopt_prefixes[prefix]
        return self.sopt_fallback

    def payor_name_payer(self, names: Iterable[str], identified: bool) -> str | None:
        """Payer of free-text payor names: a keyword found in a name, else the fallback when any payor is named or
        identified, else None."""
        names = [n.casefold() for n in names]
        for keyword in _longest_first(self.payor_keywords):
            if any(keyword in n for n in names):
                return self.payor_keywords[keyword]
        return self.payor_fallback if names or identified else None


def _longest_first(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=lambda k: (-len(k), k))


def _match(code: str, prefixes: Mapping[str, str]) -> str | None:
    for prefix in _longest_first(prefixes):
        if code.startswith(prefix):
            return prefixes[prefix]
    return None


def mappings_file() -> Path:
    """The Turtle file the mappings come from (tests point this at an edited copy)."""
    return _default_file()


@cache
def _default_file() -> Path:
    return resources.ontology_dir() / FILE_NAME


def mappings() -> FormatMappings:
    """The mappings of the current file, read once per file per process."""
    return load(mappings_file())


@cache
def load(path: Path) -> FormatMappings:
    """Read and check the mappings file; MappingError names the file and the fact that is wrong."""
    store = ox.Store()
    for source in (resources.ontology_dir() / TOKENS_FILE, path):
        try:
            store.load(path=str(source), format=ox.RdfFormat.TURTLE)
        except (OSError, SyntaxError) as exc:
            raise MappingError(f"{source}: cannot read the format mappings: {exc}") from None
    reader = _Reader(store, path)
    nucc_prefixes = reader.codes("nuccTaxonomyPrefix")
    written_nucc = reader.written("writtenNuccTaxonomy", "writtenNuccDisplay")
    filing = reader.codes("claimFilingCode")
    written_filing = {token: code for token, (code, _) in reader.written("writtenClaimFilingCode").items()}
    no_payer = reader.list_value(X12_FILING_LIST, "writtenNoPayerCode")
    sopt: dict[str, str | None] = dict(reader.codes("soptPrefix"))
    for prefix in reader.list_values(SOPT_LIST, "noPayerPrefix"):
        if prefix in sopt:
            raise MappingError(f"{path}: typology prefix {prefix!r} is read both as {sopt[prefix]!r} and as no payer")
        sopt[prefix] = None
    keywords = {k.casefold(): t for k, t in reader.codes("payorNameKeyword").items()}
    payor_names = {token: name for token, (name, _) in reader.written("writtenPayorName").items()}

    for token, (code, _) in written_nucc.items():
        read = _match(code, nucc_prefixes)
        if read != token:
            raise MappingError(f"{path}: the NUCC code {code!r} written for {token!r} reads back as {read!r}")
    for token, code in written_filing.items():
        if filing.get(code) != token:
            raise MappingError(f"{path}: SBR09 {code!r} written for {token!r} is not one of its m99:claimFilingCode")
    if no_payer is None or no_payer in filing:
        raise MappingError(f"{path}: {X12_FILING_LIST} needs one m99:writtenNoPayerCode that no payer reads")
    found = FormatMappings(
        nucc_prefixes=_frozen(nucc_prefixes), degrees=_frozen(reader.codes("hl7DegreeCode")),
        written_nucc=_frozen(written_nucc), filing_codes=_frozen(filing), written_filing=_frozen(written_filing),
        filing_no_payer=no_payer, sopt_prefixes=_frozen(sopt), sopt_fallback=reader.fallback(SOPT_LIST),
        written_sopt=_frozen(reader.written("writtenSopt", "writtenSoptDisplay")),
        payor_keywords=_frozen(keywords), payor_fallback=reader.fallback(PAYOR_NAME_LIST),
        payor_names=_frozen(payor_names),
    )
    for token, (code, _) in found.written_sopt.items():
        if found.sopt_payer(code) != token:
            raise MappingError(f"{path}: typology code {code!r} written for {token!r} reads back as "
                               f"{found.sopt_payer(code)!r}")
    for token, name in found.payor_names.items():
        if found.payor_name_payer([name], True) != token:
            raise MappingError(f"{path}: payor name {name!r} written for {token!r} reads back as "
                               f"{found.payor_name_payer([name], True)!r}")
    return found


def _frozen(d: dict) -> Mapping:
    return MappingProxyType(dict(sorted(d.items())))


class _Reader:
    """Small SPARQL helpers over the loaded file: the token of an individual is its m99:claimValue."""

    def __init__(self, store: ox.Store, path: Path) -> None:
        self.store, self.path = store, path

    def _rows(self, query: str) -> list:
        return list(self.store.query(query))

    def codes(self, prop: str) -> dict[str, str]:
        """code -> token for every `?x m99:<prop> code`; a code claimed by two tokens is an error."""
        out: dict[str, str] = {}
        for row in self._rows(f"SELECT ?token ?code WHERE {{ ?x <{M99}{prop}> ?code . "
                              f"OPTIONAL {{ ?x <{M99}claimValue> ?token }} }} ORDER BY ?code ?token"):
            code, token = row["code"].value, row["token"]
            if token is None:
                raise MappingError(f"{self.path}: m99:{prop} {code!r} is on a node without m99:claimValue "
                                   "(a payer or provider type of ontology/claims.ttl)")
            if out.get(code, token.value) != token.value:
                raise MappingError(f"{self.path}: m99:{prop} {code!r} is claimed by both {out[code]!r} and "
                                   f"{token.value!r}")
            out[code] = token.value
        return out

    def written(self, prop: str, display_prop: str | None = None) -> dict[str, tuple[str, str]]:
        """token -> (code, display) for the one code written per token."""
        display = f"OPTIONAL {{ ?x <{M99}{display_prop}> ?display }}" if display_prop else ""
        out: dict[str, tuple[str, str]] = {}
        for row in self._rows(f"SELECT ?token ?code ?display WHERE {{ ?x <{M99}claimValue> ?token ; "
                              f"<{M99}{prop}> ?code . {display} }}"):
            token = row["token"].value
            value = (row["code"].value, row["display"].value if row["display"] is not None else "")
            if token in out and out[token] != value:
                raise MappingError(f"{self.path}: {token!r} has more than one m99:{prop} or m99:{display_prop}")
            out[token] = value
        return out

    def list_values(self, code_list: str, prop: str) -> list[str]:
        return sorted(r["v"].value for r in self._rows(f"SELECT ?v WHERE {{ <{code_list}> <{M99}{prop}> ?v }}"))

    def list_value(self, code_list: str, prop: str) -> str | None:
        values = self.list_values(code_list, prop)
        if len(values) > 1:
            raise MappingError(f"{self.path}: <{code_list}> has more than one m99:{prop}")
        return values[0] if values else None

    def fallback(self, code_list: str) -> str | None:
        rows = self._rows(f"SELECT ?token WHERE {{ <{code_list}> <{M99}fallbackPayer> ?p . "
                          f"OPTIONAL {{ ?p <{M99}claimValue> ?token }} }}")
        if len(rows) > 1 or (rows and rows[0]["token"] is None):
            raise MappingError(f"{self.path}: <{code_list}> needs at most one m99:fallbackPayer, a payer with a "
                               "m99:claimValue")
        return rows[0]["token"].value if rows else None
