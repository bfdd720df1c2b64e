"""API errors as the real service reports them: an HTTP status, a code and a message."""

from __future__ import annotations


class ApiError(Exception):
    """An error the API returns to the caller. Raising it rolls the request back."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.retry_after_ms: int | None = None

    def with_retry_after(self, ms: int | None) -> ApiError:
        """Ask the client to wait (``x-acs-retry-after``), as throttling does."""
        self.retry_after_ms = ms
        return self


def missing(name: str) -> ApiError:
    return ApiError(
        "MissingParameter",
        f'The input parameter "{name}" that is mandatory for processing this request is not supplied.',
    )


def invalid(name: str, detail: str) -> ApiError:
    return ApiError("InvalidParameter", f'The specified parameter "{name}" is not valid: {detail}')


def not_found(code: str, message: str) -> ApiError:
    return ApiError(code, message, 404)
