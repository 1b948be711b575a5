"""Training recipes: one short module per method (``run(cfg)``)."""
