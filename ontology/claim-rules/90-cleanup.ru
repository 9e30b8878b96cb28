# Remove the raw JSON-LD lists and the anonymous nodes they held: the claim graph keeps only the
# numbered nodes the earlier updates wrote. Order matters: inner lists first, links last.
# (VALUES ?kind rather than a path alternative: Oxigraph then walks the lists from the claims, several
# times faster, with the same matches.)
PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
DELETE { ?pcell rdf:first ?f ; rdf:rest ?r }
WHERE {
  ?line <urn:m99kg:claim-rules:pointer-list> ?plist . ?plist rdf:rest* ?pcell . ?pcell rdf:first ?f ; rdf:rest ?r .
} ;
DELETE WHERE { ?line <urn:m99kg:claim-rules:pointer-list> ?plist } ;
DELETE { ?raw ?p ?o }
WHERE {
  VALUES ?kind { m99:lineList m99:findingList }
  ?claim ?kind ?list . ?list rdf:rest* ?cell . ?cell rdf:first ?raw .
  ?raw ?p ?o .
} ;
DELETE { ?cell rdf:first ?f ; rdf:rest ?r }
WHERE {
  VALUES ?kind { m99:diagnosisList m99:lineList m99:findingList }
  ?claim ?kind ?list . ?list rdf:rest* ?cell .
  ?cell rdf:first ?f ; rdf:rest ?r .
} ;
DELETE WHERE { ?claim m99:diagnosisList ?list } ;
DELETE WHERE { ?claim m99:lineList ?list } ;
DELETE WHERE { ?claim m99:findingList ?list }
