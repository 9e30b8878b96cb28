"""The one error type for input that cannot be read as claims."""

from __future__ import annotations


class ClaimInputError(ValueError):
    """Input that cannot become a claim graph. `where` names the file, line or field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
