"""The one error type of the emulator: a gRPC status code and a message.

Engine code raises `RpcError`; the gRPC layer turns it into the call's status,
so the real client raises the matching `google.api_core.exceptions` class
(NotFound, AlreadyExists, FailedPrecondition, Aborted, InvalidArgument, ...).
"""

from __future__ import annotations

import grpc

CONTENTION_MESSAGE = "Too much contention on these documents. Please try again."
EXPIRED_TRANSACTION_MESSAGE = "The referenced transaction has expired or is no longer valid."


class RpcError(Exception):
    """A request the emulator answers with a non-OK gRPC status."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"RpcError({self.code.name}, {self.message!r})"


def invalid_argument(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.NOT_FOUND, message)


def already_exists(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.ALREADY_EXISTS, message)


def failed_precondition(message: str) -> RpcError:
    return RpcError(grpc.StatusCode.FAILED_PRECONDITION, message)


def aborted(message: str = CONTENTION_MESSAGE) -> RpcError:
    return RpcError(grpc.StatusCode.ABORTED, message)


def transaction_expired() -> RpcError:
    """Production's answer to a transaction past its idle or total time limit."""
    return invalid_argument(EXPIRED_TRANSACTION_MESSAGE)
