"""The error services raise for invalid input, worded by the caller from its code."""

from __future__ import annotations


class CodedError(ValueError):
    """Invalid input; `code` is the last part of the locale key the caller words it with."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params
