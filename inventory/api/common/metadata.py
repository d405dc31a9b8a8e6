"""OPTIONS answers: DRF's, without the `actions` description of the writable fields (which would look up
the object of the URL, and so run a view's lookups and permission checks again for a mere OPTIONS)."""

from rest_framework.metadata import SimpleMetadata


class FamilyMetadata(SimpleMetadata):
    def determine_actions(self, request, view) -> dict:
        return {}
