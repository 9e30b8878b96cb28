# A claim is the node that carries the claim's own fields; name it and give it its identifier.
# Claims without a claimId get the part of their IRI after the claim base (the JSON "id").
PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
INSERT { ?claim a m99:Claim }
WHERE {
  ?claim m99:diagnosisList|m99:lineList|m99:findingList|m99:payer|m99:serviceDate|m99:hasDiagnosis|m99:hasLine ?any .
  FILTER(isIRI(?claim))
} ;
INSERT { ?claim m99:claimId ?id }
WHERE {
  ?claim a m99:Claim .
  FILTER NOT EXISTS { ?claim m99:claimId ?existing }
  BIND(IF(STRSTARTS(STR(?claim), "https://w3id.org/m99kg/claim/"),
          STRAFTER(STR(?claim), "https://w3id.org/m99kg/claim/"), STR(?claim)) AS ?id)
}
