"""Read-only reports over the ledger and stock levels (aggregate queries only; nothing here writes)."""
