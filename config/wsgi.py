import os
import sys

import django

from config.env import ConfigError
from config.lanes import CookielessApiLane
from config.request_body import CompleteBody

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

try:
    # Settings check every environment value (config/env.py): a bad one is one line per variable, and exit
    # code 3: a worker that exits at once every time is a crash loop, which granian stops on (config/app_server.py).
    from django.conf import settings

    settings.INSTALLED_APPS  # noqa: B018  (evaluates the settings module)
except ConfigError as exc:
    sys.stderr.write("".join(f"configuration error: {line}\n" for line in exc.lines))
    sys.exit(3)

django.setup(set_prefix=False)  # as get_wsgi_application does
# A body cut short by a client that hung up is refused, never read as a shorter body (request_body.py).
# Cookie-less API requests skip the browser-session middleware (lanes.py).
application = CompleteBody(CookielessApiLane.from_settings())
