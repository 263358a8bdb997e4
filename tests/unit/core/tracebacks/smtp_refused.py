"""smtplib against a closed local port: ConnectionRefusedError raised inside the standard library's SMTP.

EXPECT type=ConnectionRefusedError function=send_receipt category=external_service_error
"""

import smtplib
import socket

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
PORT = probe.getsockname()[1]
probe.close()


def send_receipt(to: str) -> None:
    with smtplib.SMTP("127.0.0.1", PORT, timeout=2) as smtp:  # RAISE-SITE
        smtp.sendmail("shop@example.com", [to], "Subject: receipt\n\nthanks")


send_receipt("ann@example.com")
