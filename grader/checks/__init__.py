"""Checks: trusted judgements of what the sandboxed probes sent back, one family per homework part."""
