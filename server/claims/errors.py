"""The one error type for input that cannot be read as claims."""

from __future__ import annotations


class ClaimInputError(ValueError):
    """Input that cannot become a claim graph. `where` names the file, line or field."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem

    def __reduce__(self):  # picklable (batch validation sends errors back from worker processes)
        return (type(self), (self.where, self.problem))
