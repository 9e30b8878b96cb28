"""SPARQL for the service: a read-only snapshot of the knowledge and a pool of query workers."""
