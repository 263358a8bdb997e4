"""``logging.exception`` output: a message line, then the traceback.

EXPECT type=ZeroDivisionError function=ratio category=internal_error
"""

import logging

logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log = logging.getLogger("billing.jobs")


def ratio(a: int, b: int) -> float:
    return a / b  # RAISE-SITE


try:
    ratio(1, 0)
except ZeroDivisionError:
    log.exception("nightly ratio job failed")
    raise SystemExit(1) from None
