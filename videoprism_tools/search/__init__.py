"""`videoprism-search`: a usearch index over `videoprism-embed` Parquet output and a search web page."""
