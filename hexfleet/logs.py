"""Structured logging: key=value lines for people, or one JSON object per line (LOG_JSON)."""

from __future__ import annotations

import logging
import sys

import orjson

from hexfleet.settings import Settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # arq's command line gives its logger a handler of its own: every line came out twice.
    logging.getLogger("arq").handlers.clear()
    # arq logs every job start and finish at INFO: with crons every few seconds that drowns
    # everything else. Failures are still logged (as errors).
    logging.getLogger("arq.worker").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
