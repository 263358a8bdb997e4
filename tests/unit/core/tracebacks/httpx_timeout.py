"""httpx.ReadTimeout against a local server that accepts connections and never answers.

EXPECT type=httpx.ReadTimeout function=fetch_profile category=timeout_error
REQUIRES httpx
"""

import socket

import httpx

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(8)
URL = f"http://127.0.0.1:{server.getsockname()[1]}/profile"


def fetch_profile() -> bytes:
    return httpx.get(URL, timeout=0.05).content  # RAISE-SITE


fetch_profile()
