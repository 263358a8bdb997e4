"""The pure core: parsing, traceback assembly, extraction, classification, fingerprinting and windows.

Nothing in this package performs I/O or imports Kafka, Faust, HTTP, git or LLM libraries. Every
function is synchronous and works on plain data, so it is tested without an event loop.
"""
