"""End-to-end benchmarks through a real broker (``streamfix bench pipeline``)."""
