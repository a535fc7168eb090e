"""scaling stage."""
