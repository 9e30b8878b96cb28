"""m99kg: a knowledge graph, claim validator and SPARQL service for ICD-10-CM category M99."""

__version__ = "0.1.0"
