"""The fix consumer: fix requests in, analysed and reviewed pull requests out.

:class:`streamfix.fixing.service.FixService` is the entry point; the other modules are its adapters
(repository context, Claude, safe apply, git, GitHub) and its small policies (budget, redaction).
"""
