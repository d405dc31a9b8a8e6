"""Content-Security-Policy on every response, from the SECURE_CSP setting.

A middleware of our own rather than django-csp: the policy is one fixed set of directives for the whole
site (the admin, the dashboard, the browsable API and Swagger UI load every script from our own origin,
so no nonces or per-view policies are needed), and Django 6.0 ships the same feature under the same
setting name and shape (`SECURE_CSP`, directive -> list of sources). Upgrading is deleting this file and
naming django.middleware.csp.ContentSecurityPolicyMiddleware instead.
"""

from __future__ import annotations

from django.conf import settings

HEADER = "Content-Security-Policy"


def policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.header = policy(getattr(settings, "SECURE_CSP", {}))

    def __call__(self, request):
        response = self.get_response(request)
        if self.header and HEADER not in response:
            response[HEADER] = self.header
        return response
