"""The ledger's callable checks, one module per topic; each check is a function
``() -> CheckResult`` listed in :data:`gmmlit.ledger.registry.CALLABLE_CHECKS`."""
