"""prune stage."""
