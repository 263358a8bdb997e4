"""redis-py against a closed local port: redis.exceptions.ConnectionError.

EXPECT type=redis.exceptions.ConnectionError function=cached_session category=cache_error
REQUIRES redis
"""

import socket

import redis

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
PORT = probe.getsockname()[1]
probe.close()


def cached_session(key: str) -> bytes | None:
    client = redis.Redis(host="127.0.0.1", port=PORT, socket_connect_timeout=1)
    return client.get(key)  # RAISE-SITE


cached_session("session:42")
