"""Pieces every trainer shares: schedule, optimizer, resumable state, data parallelism, metrics log."""
