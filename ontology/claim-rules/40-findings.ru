# JSON "findings": <claim>/finding/<position> nodes; a "value" token (claim-value/connective-tissue)
# becomes the mechanism or site whose m99:claimValue it is (from the reference graph).
PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
INSERT {
  ?claim m99:hasFinding ?finding .
  ?finding a m99:Finding ; m99:sequence ?pos ; ?p ?o .
}
WHERE {
  { SELECT ?list ?cell (COUNT(?mid) AS ?pos)
    WHERE { ?c m99:findingList ?list . ?list rdf:rest* ?mid . ?mid rdf:rest* ?cell . ?cell rdf:first ?f }
    GROUP BY ?list ?cell }
  ?claim m99:findingList ?list .
  ?cell rdf:first ?raw .
  ?raw ?p ?o .
  BIND(IRI(CONCAT(STR(?claim), "/finding/", STR(?pos))) AS ?finding)
} ;
DELETE { ?finding m99:findingValue ?token }
INSERT { ?finding m99:findingValue ?value }
WHERE {
  ?finding m99:findingValue ?token .
  FILTER(STRSTARTS(STR(?token), "https://w3id.org/m99kg/id/claim-value/"))
  BIND(STRAFTER(STR(?token), "https://w3id.org/m99kg/id/claim-value/") AS ?name)
  GRAPH <https://w3id.org/m99kg/graph/ontology> {
    ?value m99:claimValue ?name .
    FILTER EXISTS { { ?value a m99:Mechanism } UNION { ?value a m99:AnatomicSite } }
  }
}
