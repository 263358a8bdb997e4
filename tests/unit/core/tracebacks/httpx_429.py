"""httpx.HTTPStatusError from a local server answering 429 Too Many Requests.

EXPECT type=httpx.HTTPStatusError function=call_llm category=rate_limit_error
REQUIRES httpx
"""

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx


class TooMany(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(429)
        self.send_header("Retry-After", "7")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


server = HTTPServer(("127.0.0.1", 0), TooMany)
threading.Thread(target=server.serve_forever, daemon=True).start()
URL = f"http://127.0.0.1:{server.server_port}/v1/chat/completions"


def call_llm(prompt: str) -> bytes:
    response = httpx.post(URL, json={"prompt": prompt}, timeout=5)
    response.raise_for_status()  # RAISE-SITE
    return response.content


call_llm("hello")
