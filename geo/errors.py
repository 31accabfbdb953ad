"""Errors raised by place logic; the web layer maps them to 4xx answers.

Every error carries a stable machine code (for API clients) and a Chinese
message a person understands (for the UI).
"""


class GeoError(ValueError):
    """A bad input to place logic (geometry, code, CRS, address)."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None, **details):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.details = details

    def to_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return {"error": body}


class NotFound(GeoError):
    status = 404
