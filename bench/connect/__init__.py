"""Connection-speed benchmark: our page against the tutorials' sequential flow, in a real browser."""
