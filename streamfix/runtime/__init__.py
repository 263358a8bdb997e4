"""Process runtime: app wiring, settings, logging, metrics."""
