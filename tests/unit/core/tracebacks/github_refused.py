"""PyGithub against a closed local port: requests' ConnectionError raised inside the GitHub client.

EXPECT type=requests.exceptions.ConnectionError function=open_issue category=external_service_error
REQUIRES github
"""

import socket

import github

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
PORT = probe.getsockname()[1]
probe.close()


def open_issue(title: str) -> None:
    client = github.Github(base_url=f"http://127.0.0.1:{PORT}", retry=None, timeout=2)
    client.get_repo("acme/shop").create_issue(title=title)  # RAISE-SITE


open_issue("checkout fails")
