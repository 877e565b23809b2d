"""API keys, their scopes and per-key rate limits: who may call which door, and how often."""

from service.auth.keys import KeyStore, Principal, Scope
from service.auth.rate_limit import RateLimiter, RateLimitSettings

__all__ = ["KeyStore", "Principal", "RateLimitSettings", "RateLimiter", "Scope"]
