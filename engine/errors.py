"""The exception tree. A policy violation is not here: it is a finding in the report.

    TollgateError
    ├── InputError        an input file is invalid (exit code 2)
    ├── ConfigError       tollgate.yaml is invalid (exit code 2)
    └── ProviderError     a price/spend source failed (callers fall back and report it)
        ├── CredentialsError     no credential, or the provider rejected it   } defined in
        ├── ProviderTimeout      a call ran past its named timeout              } tollgate.providers
        ├── ProviderUnavailable  throttled/5xx after every retry, no connection } .live.base
        └── MalformedResponse    the payload is not in the provider's schema    }
"""

from __future__ import annotations


class TollgateError(Exception):
    """Base of every error Tollgate raises on purpose."""


class InputError(TollgateError):
    """An input cannot be read. The message names the file and the problem, in one line."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")


class ConfigError(TollgateError):
    """The policy file is invalid."""

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")


class ProviderError(TollgateError):
    """A price or spend source failed; the engine falls back and says so in the report."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"{source}: {problem}")

    @property
    def provider(self) -> str:
        """The API that failed ("aws-pricing", "azure-retail"...)."""
        return self.source

    @property
    def message(self) -> str:
        return self.problem
