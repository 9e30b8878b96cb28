# Remove the raw JSON-LD lists and the anonymous nodes they held: the claim graph keeps only the
# numbered nodes the earlier updates wrote. Order matters: inner lists first, links last.
PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
DELETE { ?pcell rdf:first ?f ; rdf:rest ?r }
WHERE {
  ?claim m99:lineList ?list . ?list rdf:rest* ?cell . ?cell rdf:first ?raw .
  ?raw m99:pointerList ?plist . ?plist rdf:rest* ?pcell . ?pcell rdf:first ?f ; rdf:rest ?r .
} ;
DELETE { ?raw ?p ?o }
WHERE {
  ?claim m99:lineList|m99:findingList ?list . ?list rdf:rest* ?cell . ?cell rdf:first ?raw .
  ?raw ?p ?o .
} ;
DELETE { ?cell rdf:first ?f ; rdf:rest ?r }
WHERE {
  ?claim m99:diagnosisList|m99:lineList|m99:findingList ?list . ?list rdf:rest* ?cell .
  ?cell rdf:first ?f ; rdf:rest ?r .
} ;
DELETE WHERE { ?claim m99:diagnosisList ?list } ;
DELETE WHERE { ?claim m99:lineList ?list } ;
DELETE WHERE { ?claim m99:findingList ?list }
