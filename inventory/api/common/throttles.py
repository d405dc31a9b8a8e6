"""Per-key throttling for every family (accounts.throttles takes this over with issue 14)."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Per API key (or per session user, or per address for anonymous callers)."""

    scope = "api_key"

    def get_cache_key(self, request, view) -> str:
        auth = getattr(request, "auth", None)
        if auth is not None and getattr(auth, "pk", None) is not None:
            ident = f"key:{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
