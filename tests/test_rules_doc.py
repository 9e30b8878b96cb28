"""docs/rules.md is generated from the shapes and must be current; every rule is fully described."""

from server.validation.catalogue import markdown, rules, rules_doc_path


def test_rules_doc_is_current():
    assert rules_doc_path().read_text(encoding="utf-8") == markdown(), \
        "run `m99kg rules --markdown > docs/rules.md`"


def test_every_rule_has_name_message_and_source():
    for r in rules():
        assert r.name and r.message and r.source_label and r.sources, r.id
