# JSON "diagnoses": number the list into <claim>/diagnosis/<position> nodes, keeping the code
# as written; the code IRI is dotted in 50-codes.ru. A cell's position is the number of cells from
# the head to it; the numbering runs first, alone, so each list is walked once.
PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
INSERT {
  ?claim m99:hasDiagnosis ?dx .
  ?dx a m99:ClaimDiagnosis ; m99:sequence ?pos ; m99:diagnosisCode ?raw ; m99:codeText ?written .
}
WHERE {
  { SELECT ?list ?cell (COUNT(?mid) AS ?pos)
    WHERE { ?c m99:diagnosisList ?list . ?list rdf:rest* ?mid . ?mid rdf:rest* ?cell . ?cell rdf:first ?f }
    GROUP BY ?list ?cell }
  ?claim m99:diagnosisList ?list .
  ?cell rdf:first ?raw .
  BIND(IF(isIRI(?raw) && STRSTARTS(STR(?raw), "http://purl.bioontology.org/ontology/ICD10CM/"),
          STRAFTER(STR(?raw), "http://purl.bioontology.org/ontology/ICD10CM/"), STR(?raw)) AS ?written)
  BIND(IRI(CONCAT(STR(?claim), "/diagnosis/", STR(?pos))) AS ?dx)
}
