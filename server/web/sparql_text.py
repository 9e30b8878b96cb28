"""Look inside SPARQL text without a full parser: find keywords outside strings, IRIs and comments.

Used to refuse, with a clear message and before a query reaches a worker or a remote store:
SERVICE (the service never makes an outbound request), and query text nested or chained so deeply
that a SPARQL engine's recursive parser and evaluator would run out of stack. Oxigraph (0.5) dies
with a segmentation fault on `{` nested 3,000 deep, FILTER NOT EXISTS nested 1,000 deep, or about
10,000 operands chained with UNION, `||` or `+`, on an 8 MB stack; the query workers run on a 256 MB
stack (server/sparql/worker.py), and these limits keep every query far below what that survives.
Strings, IRIs and comments are blanked first, so `"service"` or `"((("` in a literal does not count.
"""

from __future__ import annotations

import re

_SKIP = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*',
)


#: brackets ( { [ nested deeper than this are refused (the project's own queries, named and rules,
#: nest at most 12 deep: tests/test_named_queries.py)
MAX_NESTING = 64
#: more tokens than this (outside strings, IRIs and comments) are refused (a VALUES list of 5,000
#: identifiers is about 5,000 tokens; the project's own queries have at most 787)
MAX_TOKENS = 25_000
_BRACKET = re.compile(r"[(){}\[\]]")
_TOKEN = re.compile(r"[\w:?$.-]+|\S")


def code_only(query: str) -> str:
    return _SKIP.sub(" ", query)


def _has_keyword(code: str, keyword: str) -> bool:
    return re.search(rf"(?<![\w:?$]){keyword}(?![\w:-])", code, flags=re.IGNORECASE) is not None


def uses_keyword(query: str, keyword: str) -> bool:
    return _has_keyword(code_only(query), keyword)


def _measure(code: str, stop_at: int | None) -> tuple[int, int, int]:
    depth = deepest = 0
    for match in _BRACKET.finditer(code):
        depth += 1 if match.group() in "({[" else -1
        if depth > deepest:
            deepest = depth
            if stop_at is not None and deepest > stop_at:
                return deepest, 0, code.count("\n", 0, match.start()) + 1
    return deepest, sum(1 for _ in _TOKEN.finditer(code)), 0


def nesting_and_tokens(query: str, stop_at: int | None = None) -> tuple[int, int, int]:
    """(deepest bracket nesting, tokens, line where the nesting first passed `stop_at`, else 0), counted
    outside strings, IRIs and comments."""
    return _measure(code_only(query), stop_at)


def shape_problem(query: str) -> str | None:
    """Why the query's text is refused before it runs (SERVICE, nesting, length), or None. The text is
    blanked once (strings, IRIs, comments) for all three checks: every /sparql request runs them."""
    code = code_only(query)
    if _has_keyword(code, "SERVICE"):
        return "SERVICE is refused: this endpoint never sends requests to other servers"
    _deepest, tokens, line = _measure(code, MAX_NESTING)
    if line:
        return (f"the query nests brackets more than {MAX_NESTING} deep (line {line}); "
                "flatten it (a VALUES list or FILTER IN instead of nested groups)")
    if tokens > MAX_TOKENS:
        return (f"the query has {tokens} tokens outside strings and IRIs, more than the {MAX_TOKENS} allowed; "
                "split it, or narrow it with a pattern instead of listing every term")
    return None
