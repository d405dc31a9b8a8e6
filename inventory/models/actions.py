"""What a movement does to stock: the actions of the ledger and the sign of their quantities."""

from __future__ import annotations

from django.db import models


class Action(models.TextChoices):
    RECEIVED = "received", "Received"
    SOLD = "sold", "Sold"
    RETURNED = "returned", "Returned"
    ADJUSTED = "adjusted", "Adjusted"
    COUNTED = "counted", "Counted"
    TRANSFERRED_IN = "transferred_in", "Transferred in"
    TRANSFERRED_OUT = "transferred_out", "Transferred out"


# The sign each action's quantity must have: +1 inbound, -1 outbound, 0 either way.
ACTION_SIGN = {
    Action.RECEIVED: 1,
    Action.RETURNED: 1,
    Action.TRANSFERRED_IN: 1,
    Action.SOLD: -1,
    Action.TRANSFERRED_OUT: -1,
    Action.ADJUSTED: 0,
    Action.COUNTED: 0,
}
