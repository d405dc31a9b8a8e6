import os
import sys

from django.core.wsgi import get_wsgi_application

from config.env import ConfigError
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

# A body cut short by a client that hung up is refused, never read as a shorter body (request_body.py).
application = CompleteBody(get_wsgi_application())
