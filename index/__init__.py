"""On-disk index formats and the data structures behind them.

Knows nothing of the UI: `suffix_array` (exact n-gram search over token shards), `layout` (the files of an index,
its typed manifest and their checks), `storage` (atomic build folders, checksums) and `errors` (the exception types
every layer raises).
"""
