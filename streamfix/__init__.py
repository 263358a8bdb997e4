"""streamfix: a Kafka-native error monitor.

Production logs go in; grouped, classified error patterns and reviewed fix pull requests come out.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
