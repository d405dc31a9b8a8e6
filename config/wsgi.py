import os

from django.core.wsgi import get_wsgi_application

from config.request_body import CompleteBody

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A body cut short by a client that hung up is refused, never read as a shorter body (request_body.py).
application = CompleteBody(get_wsgi_application())
