"""API key authentication: `Authorization: Bearer KEY` or Spree's `X-Spree-Token: KEY`."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts.models import ApiKey


class InvalidApiKey(exceptions.AuthenticationFailed):
    default_code = "invalid_api_key"


def raw_key_from(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return value.strip()
        return None
    token = request.META.get("HTTP_X_SPREE_TOKEN")
    return token.strip() if token is not None else None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = raw_key_from(request)
        if raw is None:
            return None
        key = ApiKey.for_request(raw)
        if key is None:
            raise InvalidApiKey("Invalid API key.")
        return key.user, key

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing.
        return 'Bearer realm="api"'
