# JSON "lines": <claim>/line/<position> nodes with the line's fields; "pointers" become
# m99:pointer values, the first one m99:primaryPointer, and their number as written m99:pointerCount.
# The line keeps its raw pointer list under a scratch predicate (urn:m99kg:claim-rules:pointer-list)
# so the pointer updates need not number the lines again; 90-cleanup.ru removes it.
PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
INSERT {
  ?claim m99:hasLine ?line .
  ?line a m99:ServiceLine ; m99:sequence ?pos ; ?q ?o .
}
WHERE {
  { SELECT ?list ?cell (COUNT(?mid) AS ?pos)
    WHERE { ?c m99:lineList ?list . ?list rdf:rest* ?mid . ?mid rdf:rest* ?cell . ?cell rdf:first ?f }
    GROUP BY ?list ?cell }
  ?claim m99:lineList ?list .
  ?cell rdf:first ?raw .
  ?raw ?p ?o .
  BIND(IF(?p = m99:pointerList, <urn:m99kg:claim-rules:pointer-list>, ?p) AS ?q)
  BIND(IRI(CONCAT(STR(?claim), "/line/", STR(?pos))) AS ?line)
} ;
INSERT { ?line m99:pointer ?value }
WHERE {
  ?line <urn:m99kg:claim-rules:pointer-list> ?plist .
  ?plist rdf:rest* ?pcell .
  ?pcell rdf:first ?value .
} ;
INSERT { ?line m99:primaryPointer ?first }
WHERE {
  ?line <urn:m99kg:claim-rules:pointer-list> ?plist .
  ?plist rdf:first ?first .
} ;
INSERT { ?line m99:pointerCount ?n }
WHERE {
  { SELECT ?line (COUNT(?pcell) AS ?n)
    WHERE {
      ?line <urn:m99kg:claim-rules:pointer-list> ?plist .
      ?plist rdf:rest* ?pcell .
      ?pcell rdf:first ?v .
    }
    GROUP BY ?line }
}
