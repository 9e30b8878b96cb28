"""Claim validation: SHACL shapes of shapes/ over claim graphs joined with a small extract of the store."""
