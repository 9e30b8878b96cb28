import pytest

from server import codes


@pytest.mark.parametrize(("text", "dotted"), [
    ("M99.04", "M99.04"), ("m9904", "M99.04"), (" M9904 ", "M99.04"), ("M99", "M99"),
    ("M53.2X8", "M53.2X8"), ("S3210XA", "S32.10XA"), ("M994", "M99.4"),
])
def test_normalize_icd10cm(text, dotted):
    assert codes.normalize_icd10cm(text) == dotted


@pytest.mark.parametrize("text", ["", "99.04", "M99.", "M99..4", "M9", "M99.04<x>", "M99.0401234", "98940"])
def test_malformed_icd10cm_is_refused(text):
    with pytest.raises(codes.CodeFormatError):
        codes.normalize_icd10cm(text)


def test_icd9_dotted_forms():
    assert codes.icd9_dotted("7394") == "739.4"
    assert codes.icd9_dotted("72409") == "724.09"
    assert codes.icd9_dotted("V1234") == "V12.34"
    assert codes.icd9_dotted("E8001") == "E800.1"
    assert codes.icd9_dotted("010") == "010"


def test_cpt():
    assert codes.cpt_iri("98940").endswith("/CPT/98940")
    with pytest.raises(codes.CodeFormatError):
        codes.normalize_cpt("9894")
