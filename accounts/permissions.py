"""Role permissions: viewer reads, manager records stock, admin manages the catalogue and the ledger."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.models import Role


class RolePermission(BasePermission):
    """Reads need viewer; writes need the view's `write_role` (manager unless the view says otherwise).

    A view may narrow per method with `write_roles = {"DELETE": Role.ADMIN, ...}`.
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return user.has_role(getattr(view, "read_role", Role.VIEWER))
        roles = getattr(view, "write_roles", {})
        required = roles.get(request.method, getattr(view, "write_role", Role.MANAGER))
        return user.has_role(required)

