"""Malformed HTTP requests logged as one line each, not as a server error.

aiohttp logs a request its parser refuses (a header or URL over 8 KiB, bytes that are
not HTTP) at ERROR with a traceback, although the client has its 400 and nothing in
the service went wrong; a flood of them filled the journal with tracebacks. This
filter makes each such record one WARNING line that says who sent what.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"
#: How much of the parser's message is kept (it quotes the client's bytes).
MESSAGE_KEPT = 160


class MalformedRequestFilter(logging.Filter):
    """Turns aiohttp's record of a refused request into a short warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            text = " ".join(str(error.message).split())
            if len(text) > MESSAGE_KEPT:
                text = text[:MESSAGE_KEPT] + "…"
            said = record.getMessage()
            record.msg = "%s: refused with %d (%s)"
            record.args = (said, error.code, text)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def install() -> None:
    """Add the filter to aiohttp's server logger, once."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, MalformedRequestFilter) for f in logger.filters):
        logger.addFilter(MalformedRequestFilter())
