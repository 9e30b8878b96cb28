# Diagnosis codes written without the dot (X12 style, M9904) or in lower case get the dotted,
# upper-case IRI the code set uses (M99.04); the text as written stays in m99:codeText.
PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
DELETE { ?dx m99:diagnosisCode ?raw }
INSERT { ?dx m99:diagnosisCode ?code }
WHERE {
  ?dx m99:diagnosisCode ?raw .
  BIND(IF(STRSTARTS(STR(?raw), "http://purl.bioontology.org/ontology/ICD10CM/"),
          STRAFTER(STR(?raw), "http://purl.bioontology.org/ontology/ICD10CM/"), STR(?raw)) AS ?written)
  BIND(UCASE(REPLACE(?written, "\\s", "")) AS ?u)
  BIND(IF(CONTAINS(?u, ".") || STRLEN(?u) <= 3, ?u, CONCAT(SUBSTR(?u, 1, 3), ".", SUBSTR(?u, 4))) AS ?dotted)
  BIND(IRI(CONCAT("http://purl.bioontology.org/ontology/ICD10CM/", ENCODE_FOR_URI(?dotted))) AS ?code)
  FILTER(?code != ?raw)
}
