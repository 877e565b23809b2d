"""Model bundles: the one contract between `training/` (which writes them) and `service/` (which runs them)."""
