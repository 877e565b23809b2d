"""Run configs as Python: each module returns typed frozen dataclasses and has a `smoke` variant for tests."""
