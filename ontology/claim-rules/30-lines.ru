# JSON "lines": <claim>/line/<position> nodes with the line's fields; "pointers" become
# m99:pointer values, the first one m99:primaryPointer, and their number as written m99:pointerCount.
PREFIX m99: <https://w3id.org/m99kg/vocab#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
INSERT {
  ?claim m99:hasLine ?line .
  ?line a m99:ServiceLine ; m99:sequence ?pos ; ?p ?o .
}
WHERE {
  ?claim m99:lineList ?list .
  ?list rdf:rest* ?cell .
  ?cell rdf:first ?raw .
  { SELECT ?list ?cell (COUNT(?mid) AS ?pos)
    WHERE { ?c m99:lineList ?list . ?list rdf:rest* ?mid . ?mid rdf:rest* ?cell . ?cell rdf:first ?f }
    GROUP BY ?list ?cell }
  ?raw ?p ?o .
  FILTER(?p != m99:pointerList)
  BIND(IRI(CONCAT(STR(?claim), "/line/", STR(?pos))) AS ?line)
} ;
INSERT { ?line m99:pointer ?value }
WHERE {
  ?claim m99:lineList ?list .
  ?list rdf:rest* ?cell .
  ?cell rdf:first ?raw .
  { SELECT ?list ?cell (COUNT(?mid) AS ?pos)
    WHERE { ?c m99:lineList ?list . ?list rdf:rest* ?mid . ?mid rdf:rest* ?cell . ?cell rdf:first ?f }
    GROUP BY ?list ?cell }
  BIND(IRI(CONCAT(STR(?claim), "/line/", STR(?pos))) AS ?line)
  ?raw m99:pointerList ?plist .
  ?plist rdf:rest* ?pcell .
  ?pcell rdf:first ?value .
} ;
INSERT { ?line m99:primaryPointer ?first }
WHERE {
  ?claim m99:lineList ?list .
  ?list rdf:rest* ?cell .
  ?cell rdf:first ?raw .
  { SELECT ?list ?cell (COUNT(?mid) AS ?pos)
    WHERE { ?c m99:lineList ?list . ?list rdf:rest* ?mid . ?mid rdf:rest* ?cell . ?cell rdf:first ?f }
    GROUP BY ?list ?cell }
  BIND(IRI(CONCAT(STR(?claim), "/line/", STR(?pos))) AS ?line)
  ?raw m99:pointerList ?plist .
  ?plist rdf:first ?first .
} ;
INSERT { ?line m99:pointerCount ?n }
WHERE {
  { SELECT ?claim ?pos (COUNT(?pcell) AS ?n)
    WHERE {
      ?claim m99:lineList ?list .
      ?list rdf:rest* ?cell .
      ?cell rdf:first ?raw .
      { SELECT ?list ?cell (COUNT(?mid) AS ?pos)
        WHERE { ?c m99:lineList ?list . ?list rdf:rest* ?mid . ?mid rdf:rest* ?cell . ?cell rdf:first ?f }
        GROUP BY ?list ?cell }
      ?raw m99:pointerList ?plist .
      ?plist rdf:rest* ?pcell .
      ?pcell rdf:first ?v .
    }
    GROUP BY ?claim ?pos }
  BIND(IRI(CONCAT(STR(?claim), "/line/", STR(?pos))) AS ?line)
}
