"""Developer tools: demo, replay, synthetic logs, worker processes, progress output."""
