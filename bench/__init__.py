"""`make bench`: write-path load against the raw-SQL floor, 1M-row reads, and recount, into RESULTS.md."""
