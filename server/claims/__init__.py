"""Claims in: the plain JSON form, JSON-LD and Turtle claim graphs (FHIR and X12 come later)."""
