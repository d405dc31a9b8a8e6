"""The staff dashboard at /dashboard/: stock value over time, units in and out, low stock."""
