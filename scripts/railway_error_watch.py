#!/usr/bin/env python3
"""Watch Railway logs and publish them to streamfix's raw topic.

A thin wrapper kept for existing deployments; it takes the same flags as
``streamfix watch railway`` (``--service NAME``..., ``--environment ENV``, ``--auto-fix``,
``--interval SECONDS``, ``--log-level LEVEL``, ``--railway-bin PATH``, ``--log-file PATH``) and runs that
command. Without ``--service`` it watches every service of the linked project.

    python scripts/railway_error_watch.py --log-file /var/log/railway-error-watch.log

Rotate the log file with logrotate (no ``copytruncate`` needed: the file is reopened when moved).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamfix.cli.watch import railway_cmd

if __name__ == "__main__":
    railway_cmd(prog_name="railway_error_watch.py")
