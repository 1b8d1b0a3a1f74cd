"""Errors raised by SmartPlex's service clients."""


class SmartPlexApiError(Exception):
    """A call to a media service failed."""

    def __init__(self, service: str, message: str) -> None:
        """Describe the failure without any secret (messages carry paths, not URLs)."""
        super().__init__(f"{service}: {message}")
        self.service = service


class SmartPlexConnectionError(SmartPlexApiError):
    """The service could not be reached (refused, unresolvable, reset)."""


class SmartPlexTimeoutError(SmartPlexConnectionError):
    """The service did not answer in time."""


class SmartPlexAuthError(SmartPlexApiError):
    """The service rejected our credential (401 or 403)."""


class SmartPlexRateLimitError(SmartPlexApiError):
    """The service asked us to slow down (429)."""

    def __init__(self, service: str, message: str, retry_after: float | None) -> None:
        """Keep the delay the service asked for, when it gave one."""
        super().__init__(service, message)
        self.retry_after = retry_after


class SmartPlexResponseError(SmartPlexApiError):
    """The service answered with an error status or a body we cannot read."""

    def __init__(self, service: str, message: str, status: int | None = None) -> None:
        """Keep the HTTP status, when there was one."""
        super().__init__(service, message)
        self.status = status


class SmartPlexNotFoundError(SmartPlexResponseError):
    """The service has no such resource (HTTP 404 on a resource call)."""


class SmartPlexServiceError(SmartPlexResponseError):
    """The service answered in its own error format (so it is the right service)."""


class SmartPlexDeletionNotAllowedError(SmartPlexServiceError):
    """Plex refused to delete media: its "Allow media deletion" setting is off."""


class SmartPlexWrongServiceError(SmartPlexApiError):
    """Something answered, but it is not the service we expected."""
