"""The admin login lockout's store in Redis (with REDIS_URL): django-axes's cache handler, failing open.

With IGNORE_EXCEPTIONS a Redis that is gone answers None where axes counts a failure (`incr`), and axes
then compares None with a number: the login page would answer 500 for every wrong password. Here a failure
the store cannot count is logged and let go, as the throttles do: while Redis is down, wrong passwords are
not counted (the lockout is off), and the login page keeps working.
"""

from __future__ import annotations

import logging

from axes.handlers.cache import AxesCacheHandler

logger = logging.getLogger("stockroom.lockout")


class FailOpenAxesCacheHandler(AxesCacheHandler):
    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        try:
            return super().user_login_failed(sender, credentials, request, **kwargs)
        except Exception as exc:
            logger.warning("login lockout store unavailable: a failed admin login was not counted (fail open): %r",
                           exc)
            return None
