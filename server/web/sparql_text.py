"""Look inside SPARQL text without a full parser: find keywords outside strings, IRIs and comments.

Used to refuse SERVICE (the service never makes an outbound request) with a clear message before a
query reaches a worker. Strings, IRIs and comments are blanked first, so `"service"` in a literal
or an IRI does not count.
"""

from __future__ import annotations

import re

_SKIP = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*',
)


def code_only(query: str) -> str:
    return _SKIP.sub(" ", query)


def uses_keyword(query: str, keyword: str) -> bool:
    return re.search(rf"(?<![\w:?$]){keyword}(?![\w:-])", code_only(query), flags=re.IGNORECASE) is not None
