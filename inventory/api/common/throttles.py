"""Per-key throttling for every family: kept in accounts.throttles (shared through Redis with REDIS_URL)."""

from accounts.throttles import ApiKeyRateThrottle

__all__ = ["ApiKeyRateThrottle"]
