"""The package's error types, shared by the stages that raise them (DataError is re-exported
as `mobilenet_repro.data.DataError`)."""

from __future__ import annotations


class DataError(RuntimeError):
    """A data set is missing, corrupt or unusable; the message says which file and what to do."""


class ConfigError(ValueError):
    """The configuration is invalid; the message names the key, the value and what is allowed."""
