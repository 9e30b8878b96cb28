"""The installed `m99kg` command, run as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

M99KG = shutil.which("m99kg") or str(__import__("pathlib").Path(sys.executable).parent / "m99kg")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([M99KG, *args], capture_output=True, text=True, timeout=120)


def test_code_card_text():
    r = run("code", "M99.04")
    assert r.returncode == 0, r.stderr
    for expected in ("M99.04  Segmental and somatic dysfunction of sacral region", "Hierarchy", "M99.03",
                     "98940", "739.4", "Sources", "[S000]"):
        assert expected in r.stdout


def test_code_card_json():
    r = run("code", "--json", "m9974")
    assert r.returncode == 0, r.stderr
    card = json.loads(r.stdout)
    assert card["code"] == "M99.74" and card["site"]["label"] == "intervertebral foramina"


def test_header_code_names_its_billable_children():
    r = run("code", "M99.4")
    assert r.returncode == 0
    assert "NOT billable" in r.stdout and "M99.44" in r.stdout


@pytest.mark.parametrize(("arg", "message"), [("M99.99", "is not a code of the ICD-10-CM"),
                                              ("hello", "is not an ICD-10-CM code")])
def test_bad_codes_exit_2_with_a_message(arg, message):
    r = run("code", arg)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_build_check_reports_current():
    r = run("build", "--check")
    assert r.returncode == 0, r.stderr
    assert "up to date" in r.stdout
