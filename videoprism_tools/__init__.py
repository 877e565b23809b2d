"""Command-line tools on top of the SDK: `videoprism-embed` (bulk embedding, locally, through a service or
on a Ray cluster) and `videoprism-search` (a vector index and a search page over the embeddings)."""
