"""The Anthropic SDK against a closed local port: anthropic.APIConnectionError, raised from httpx's error.

EXPECT type=anthropic.APIConnectionError function=summarise category=provider_error
REQUIRES anthropic
"""

import socket

import anthropic

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
PORT = probe.getsockname()[1]
probe.close()


def summarise(text: str) -> str:
    client = anthropic.Anthropic(api_key="sk-ant-test", base_url=f"http://127.0.0.1:{PORT}", max_retries=0)
    reply = client.messages.create(  # RAISE-SITE
        model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": text}]
    )
    return str(reply.content)


summarise("hello")
