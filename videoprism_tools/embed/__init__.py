"""`videoprism-embed`: embed a folder, glob, manifest or URL list into Parquet or .npy + JSONL."""
