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


class PluginError(ConfigError):
    """User code (an optimizer or objective plugin) raised, returned the wrong thing, or called sys.exit.

    Found before a run (a probe step): exit code 2, nothing written. Found during a run: the engine marks the
    members that use the plugin "failed" with this message and the others go on.
    """
