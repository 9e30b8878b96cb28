"""The committed generated files are exactly what `m99kg build` produces now."""

from server.build import pipeline


def test_generated_files_are_current():
    assert pipeline.check() == [], "run `m99kg build` and commit ontology/generated/"
