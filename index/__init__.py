"""On-disk index formats and the data structures behind them.

Knows nothing of the UI: `suffix_array` (exact n-gram search over token shards), `storage` (atomic build folders,
manifest, checksums) and `errors` (the exception types every layer raises).
"""
