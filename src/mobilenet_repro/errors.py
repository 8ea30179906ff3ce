"""The data layer's error type (re-exported as `mobilenet_repro.data.DataError`)."""

from __future__ import annotations


class DataError(RuntimeError):
    """A data set is missing, corrupt or unusable; the message says which file and what to do."""
