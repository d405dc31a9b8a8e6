"""What the API families share: error classification (errors), idempotent writes (idempotency), paging
(pagination), strict query parameters (params, filters), routers, schema helpers and throttling."""

# The settings name the throttle by this path (DEFAULT_THROTTLE_CLASSES).
from inventory.api.common.throttles import ApiKeyRateThrottle

__all__ = ["ApiKeyRateThrottle"]
