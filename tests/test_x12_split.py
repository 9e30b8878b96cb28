"""Reading an 837P interchange in several processes, cut at its transaction sets, gives exactly what
reading it in one gives: the claims, where each is, the claims refused and their messages, or the
error that refuses the file (server/claims/x12_split.py)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from server.claims import x12, x12_split
from server.claims.x12 import claim_objects_from_x12
from server.claims.x12_write import writable_claims, write_837p
from server.synth.generator import generate
from server.validation import batch
from tests.test_x12 import CORPUS, EXPECTED, _outcome, corpus

CREATED = dt.datetime(2026, 3, 3, 9, 30)


def claims(n: int, seed: int = 7) -> list[dict]:
    out = []
    for claim in writable_claims(generate(4 * n, seed)):
        out.append(claim)
        if len(out) == n:
            return out
    raise AssertionError("the generator gave too few claims an 837P can carry")


def by_id(objects: list[dict]) -> list[dict]:
    return sorted(objects, key=lambda o: o["id"])


def both(text: str, name: str = "f.837") -> tuple[list, list]:
    serial = _outcome(text, name)
    split = _outcome(text, name, lambda t, n, e: x12_split.claim_objects_split(t, n, e, workers=2))
    return serial, split


def cut(text: str) -> list[x12_split.Part] | None:
    text = text.lstrip()
    return x12_split.parts(text, x12._envelope(text, "f.837"), 4)


def set_segment(text: str, st: int, seg: str) -> int:
    """The position in text of the first `seg` segment inside transaction set number `st` (1-based)."""
    start = [m.start() for m in re.finditer(r"(?m)^ST\*837\*", text)][st - 1]
    return text.index(seg, start)


@pytest.fixture(scope="module")
def multi() -> str:
    return write_837p(claims(40), created=CREATED, claims_per_set=9)  # 5 transaction sets


def test_the_writer_cuts_transaction_sets_and_pyx12_reads_them(multi):
    assert multi.count("ST*837*") == 5 and "GE*5*1~" in multi
    objects, _ = claim_objects_from_x12(multi, "multi.837")
    assert by_id(objects) == by_id(claims(40))  # grouped by billing provider within each set
    assert write_837p(claims(3), created=CREATED).count("ST*837*") == 1  # 5,000 claims per set by default
    with pytest.raises(ValueError, match="claims_per_set"):
        write_837p(claims(3), claims_per_set=0)


def test_a_file_of_several_transaction_sets_is_cut_and_read_in_parts_with_the_same_result(multi):
    parts = cut(multi)
    assert parts is not None and len(parts) == 4 and [p.claims for p in parts] == [18, 9, 9, 4]
    # each part is an interchange of its own, numbered as the whole file
    objects, wheres, bad, found = x12_split.read_part(parts[1], "multi.837", True)
    serial_objects, serial_wheres = claim_objects_from_x12(multi, "multi.837")
    here = slice(parts[0].claims, parts[0].claims + parts[1].claims)
    assert (objects, wheres, bad, found) == (serial_objects[here], serial_wheres[here], [], parts[1].claims)
    serial_outcome, split_outcome = both(multi)
    assert serial_outcome[0] == "read" and split_outcome == serial_outcome
    one_line = multi.replace("~\n", "~")
    assert cut(one_line) is not None
    assert both(one_line)[1] == both(one_line)[0]


def _faults(multi: str) -> dict[str, str]:
    sv1 = set_segment(multi, 2, "SV1*")
    sv1_end = multi.index("~", sv1)
    se3 = set_segment(multi, 3, "SE*")
    hl4 = set_segment(multi, 4, "HL*2*")
    clm5 = set_segment(multi, 5, "CLM*")
    st2 = set_segment(multi, 2, "ST*837*")
    return {
        # a claim refused in the second set: the other claims read, the message names the whole file's segment
        "units": multi[:sv1] + re.sub(r"\*UN\*[^*~]*", "*UN*x", multi[sv1:sv1_end], count=1) + multi[sv1_end:],
        # a transaction set count that does not add up refuses the file, at the SE of the third set
        "se-count": multi[:se3] + re.sub(r"SE\*(\d+)", lambda m: f"SE*{int(m.group(1)) + 1}", multi[se3:], count=1),
        # an HL out of sequence in the fourth set
        "hl": multi[:hl4] + "HL*7*" + multi[hl4 + 5:],
        # a claim without CLM01 in the last set
        "clm01": multi[:clm5] + "CLM**" + multi[multi.index("*", clm5 + 4) + 1:],
        # the second set repeats the first one's control number: pyx12 reports it across sets
        "st02": multi[:st2] + "ST*837*0001*" + multi[st2 + 12:].replace("SE*", "SE*", 1),
        "ge01": multi.replace("GE*5*1~", "GE*4*1~"),
        "iea02": multi.replace("IEA*1*000000001~", "IEA*1*000000002~"),
        "truncated": multi[:set_segment(multi, 3, "CLM*")],
    }


@pytest.mark.parametrize("fault", ["units", "se-count", "hl", "clm01", "st02", "ge01", "iea02", "truncated"])
def test_faults_in_one_set_give_what_reading_the_whole_file_gives(multi, fault):
    text = _faults(multi)[fault]
    assert text != multi
    serial, split = both(text, f"{fault}.837")
    assert split == serial
    if fault == "units":
        assert serial[0] == "read" and len(serial[3]) == 1 and len(serial[1]) == 39
        assert re.search(r"units\.837:\d+: segment \d+ \(SV1\)", serial[3][0])
    if fault in ("st02", "ge01", "iea02"):
        assert cut(text) is None  # an envelope that does not add up is read whole


def test_a_part_that_cannot_be_read_on_makes_the_whole_file_read_in_one_process(multi):
    text = _faults(multi)["se-count"]
    parts = cut(text)
    assert parts is not None
    answers = [x12_split._read_part_job((p, "f.837", True)) for p in parts]
    assert any(a is None for a in answers) and any(a is not None for a in answers)
    serial, split = both(text)
    assert serial[0] == "file" and split == serial


def test_groups_keep_their_own_envelope_and_a_second_interchange_is_read_whole():
    a, b = claims(12, 1), claims(10, 2)
    for c in b:
        c["id"] = "B-" + c["id"]
    one = write_837p(a, created=CREATED, claims_per_set=5)
    two = write_837p(b, created=CREATED, claims_per_set=4, control_number=2)
    two_interchanges = one + two
    lines = one.split("~\n")
    gs2 = lines[1].replace("*1*X*", "*2*X*")
    sets_b = two.split("~\n")[2:-3]
    two_groups = "~\n".join([*lines[:-2], gs2, *sets_b, "GE*3*2", "IEA*2*000000001", ""])
    parts = cut(two_groups)
    assert parts is not None and len(parts) >= 3
    serial, split = both(two_groups)
    assert serial[0] == "read" and by_id(serial[1]) == by_id(a + b) and split == serial
    # pyx12 refuses a second interchange in a file (IEA over its count): such a file is read whole
    assert cut(two_interchanges) is None
    serial, split = both(two_interchanges)
    assert serial[0] == "file" and "IEA" in serial[1] and split == serial


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared/corpora/x12-837p is not checked out beside the repository")
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_files_read_the_same_in_parts(name):
    serial, split = both(corpus(name), name)
    assert split == serial


def test_batch_units_of_a_large_file_are_the_same_with_reader_processes(multi):
    text = _faults(multi)["units"]
    one = list(batch.text_units(text, "big.837", "x12", batch_size=8))
    two = list(batch.text_units(text, "big.837", "x12", batch_size=8, read_workers=2))
    assert len(one) == 5
    assert [(u.objects, u.wheres, [str(e) for e in u.errors]) for u in two] == \
        [(u.objects, u.wheres, [str(e) for e in u.errors]) for u in one]


def test_cli_validates_a_large_837p_the_same_with_reader_processes(multi, tmp_path):
    """`m99kg validate --workers 2` reads the transaction sets in two processes: the reports and the
    input errors are those of one worker."""
    import json
    import subprocess

    from tests.test_x12 import M99KG

    path = tmp_path / "big.837"
    path.write_text(_faults(multi)["units"], encoding="utf-8")
    runs = [subprocess.run([M99KG, "validate", "--format", "jsonl", "--batch-size", "8", "--workers", workers,
                            str(path)], capture_output=True, text=True, timeout=600) for workers in ("1", "2")]
    for run in runs:
        assert run.returncode in (0, 1, 2), run.stderr
    one, two = ([json.loads(line) for line in run.stdout.splitlines()] for run in runs)
    assert len(one) == 39 and two == one
    assert runs[1].returncode == runs[0].returncode
    assert "SV1" in runs[0].stderr and runs[1].stderr == runs[0].stderr
