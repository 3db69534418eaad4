"""The project's exception types: each carries a message a user can act on (what, where, what to do)."""


class InspectorError(Exception):
    """Base class; the CLI prints it as one line, the app as one `st.error`."""


class CorpusError(InspectorError):
    """The input corpus is unusable: names the file, and the column and row when known."""


class InvalidQuery(InspectorError):
    """A query the engine cannot answer as asked (syntax, token range, limits)."""


class IndexMissing(InspectorError):
    """No index at the given folder."""


class IndexCorrupt(InspectorError):
    """The index on disk fails its checks: answering from it could be wrong."""


class SourceChanged(InspectorError):
    """A source Parquet shard differs from what the index was built from: its answers describe the old text."""


class BuildLocked(InspectorError):
    """Another build holds the folder's lock."""
