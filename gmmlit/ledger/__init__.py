"""The claims ledger: every claim of the book with the check that verifies it."""
