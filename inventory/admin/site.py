"""The admin site's branding: staff know where they are from the header and the browser tab."""

from __future__ import annotations

from django.contrib import admin

admin.site.site_header = "Stockroom · warehouse admin"
admin.site.site_title = "Stockroom"
# index_title stays Django's "Site administration": the dashboard's tests recognise the index by it.
