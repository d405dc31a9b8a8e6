"""Two middleware stacks behind the one WSGI application: an API request that carries no cookie skips the
middleware that only serves browser sessions.

A storefront or a warehouse scanner calls /api/v1/ with an API key and no cookie. For it, the session, CSRF,
authentication (Django's user, not DRF's), messages and login-lockout middleware do nothing but cost: about
4 % of a movement POST's instructions (bench/FINDINGS.md, round 9). Such a request is served by a handler
built without them; anything else (a cookie, or any other path: the admin, the dashboard, /api/docs/, the
Spree aliases under /api/) by the full stack of settings.MIDDLEWARE. Neither DRF nor the families read
Django's `request.user` or `request.session`: DRF's SessionAuthentication finds no user without a cookie in
either lane, and API keys never go through the login lockout.
"""

from __future__ import annotations

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

API_PREFIX = "/api/v1/"

# Middleware with nothing to do for a request that carries no cookie (whitenoise: no static file lies under
# /api/v1/).
SESSION_ONLY = frozenset({
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
})


def handler_with(middleware: list[str]) -> WSGIHandler:
    """A WSGI handler whose chain is `middleware` rather than settings.MIDDLEWARE. Django builds the chain from
    the setting when the handler is made, once, at start-up."""
    full = settings.MIDDLEWARE
    settings.MIDDLEWARE = middleware
    try:
        return WSGIHandler()
    finally:
        settings.MIDDLEWARE = full


class CookielessApiLane:
    """WSGI application: `api` for cookie-less requests under API_PREFIX, `full` for everything else."""

    def __init__(self, full: WSGIHandler, api: WSGIHandler) -> None:
        self.full, self.api = full, api

    @classmethod
    def from_settings(cls) -> CookielessApiLane:
        lean = [name for name in settings.MIDDLEWARE if name not in SESSION_ONLY]
        return cls(WSGIHandler(), handler_with(lean))

    def __call__(self, environ, start_response):
        if "HTTP_COOKIE" not in environ and environ.get("PATH_INFO", "").startswith(API_PREFIX):
            return self.api(environ, start_response)
        return self.full(environ, start_response)
