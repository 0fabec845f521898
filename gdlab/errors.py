"""The tool's own errors. Only the CLI prints them and chooses the exit code."""


class GdlabError(Exception):
    """A failure gdlab can explain in one message (exit code 1)."""

    exit_code = 1


class ConfigError(GdlabError):
    """A bad config or command line (exit code 2): the message names the key, the value and what is accepted."""

    exit_code = 2


class DataError(GdlabError):
    """Data that cannot be found, downloaded or read (exit code 1)."""


class OutputError(GdlabError):
    """A file that cannot be written (disk full, no permission, read-only folder) or a run directory that cannot be
    read back (damaged, incomplete): exit code 1, one message naming the path and what is kept."""
