"""Delivery state of alerts, in a SQLite table that survives restarts (and SIGKILL: every change is
committed before the next step is taken).

``deliveries`` has one row per (alert, channel), the idempotency key of that delivery. An alert read a
second time from the topic inserts nothing (``INSERT OR IGNORE``), so it is never sent twice; a
delivery is ``pending`` until it is ``delivered`` or, after a permanent refusal (a 4xx other than 429),
``failed`` with the channel's answer. ``channels`` remembers until when a failing channel is parked.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from streamfix.kafka.wire import AlertRecord

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, body BLOB NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL, last_error TEXT NOT NULL DEFAULT '', delivered_at REAL,
    PRIMARY KEY (alert_id, channel)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, channel, next_at);
CREATE TABLE IF NOT EXISTS channels (
    channel TEXT PRIMARY KEY, parked_until REAL NOT NULL, failures INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Due:
    alert: AlertRecord
    channel: str
    attempts: int


class DeliveryStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def enqueue(self, alert: AlertRecord, channels: list[str] | tuple[str, ...]) -> int:
        """Record ``alert`` and one pending delivery per channel; returns how many deliveries are new."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?)",
                    (alert.alert_id, alert.fingerprint, alert.dumps(), alert.created_at),
                )
                new = 0
                for channel in channels:
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO deliveries (alert_id, channel, status, next_at)"
                        " VALUES (?, ?, 'pending', ?)",
                        (alert.alert_id, channel, alert.not_before),
                    )
                    new += cur.rowcount
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return new

    def parked_until(self, channel: str) -> float:
        with self._lock:
            row = self._db.execute(
                "SELECT parked_until FROM channels WHERE channel = ?", (channel,)
            ).fetchone()
        return float(row[0]) if row else 0.0

    def failures(self, channel: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT failures FROM channels WHERE channel = ?", (channel,)).fetchone()
        return int(row[0]) if row else 0

    def park(self, channel: str, until: float, alert_ids: list[str], error: str) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO channels VALUES (?, ?, 1) ON CONFLICT(channel)"
                " DO UPDATE SET parked_until = excluded.parked_until,"
                " failures = failures + 1",
                (channel, until),
            )
            self._db.executemany(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_at = MAX(next_at, ?)"
                " WHERE alert_id = ? AND channel = ?",
                [(error[:500], until, a, channel) for a in alert_ids],
            )
            self._db.execute("COMMIT")

    def channel_ok(self, channel: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM channels WHERE channel = ?", (channel,))

    def due(self, channel: str, now: float, limit: int) -> list[Due]:
        with self._lock:
            rows = self._db.execute(
                "SELECT a.body, d.attempts FROM deliveries d JOIN alerts a USING (alert_id)"
                " WHERE d.channel = ? AND d.status = 'pending' AND d.next_at <= ?"
                " ORDER BY a.created_at, a.alert_id"
                " LIMIT ?",
                (channel, now, limit),
            ).fetchall()
        return [Due(AlertRecord.loads(body), channel, int(attempts)) for body, attempts in rows]

    def mark(self, channel: str, alert_ids: list[str], status: str, now: float, error: str = "") -> None:
        with self._lock:
            self._db.executemany(
                "UPDATE deliveries SET status = ?, attempts = attempts + 1, delivered_at = ?, last_error = ?"
                " WHERE alert_id = ? AND channel = ?",
                [
                    (status, now if status == "delivered" else None, error[:500], a, channel)
                    for a in alert_ids
                ],
            )

    def counts(self) -> dict[tuple[str, str], int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT channel, status, COUNT(*) FROM deliveries GROUP BY channel, status"
            ).fetchall()
        return {(str(c), str(s)): int(n) for c, s, n in rows}

    def recent(self, limit: int = 100, since: float = 0.0) -> list[dict[str, Any]]:
        """Newest alerts first, each with its deliveries."""
        with self._lock:
            alerts = self._db.execute(
                "SELECT alert_id, body FROM alerts WHERE created_at >= ?"
                " ORDER BY created_at DESC, alert_id LIMIT ?",
                (since, limit),
            ).fetchall()
            out = []
            for alert_id, body in alerts:
                rows = self._db.execute(
                    "SELECT channel, status, attempts, last_error, delivered_at, next_at FROM deliveries"
                    " WHERE alert_id = ? ORDER BY channel",
                    (alert_id,),
                ).fetchall()
                record = orjson.loads(body)
                record["deliveries"] = [
                    {
                        "channel": c,
                        "status": s,
                        "attempts": n,
                        "last_error": e,
                        "delivered_at": d,
                        "next_attempt_at": t,
                    }
                    for c, s, n, e, d, t in rows
                ]
                out.append(record)
        return out

    def prune(self, before: float) -> int:
        """Forget finished alerts created before ``before`` (pending ones are kept whatever their age)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            cur = self._db.execute(
                "DELETE FROM alerts WHERE created_at < ? AND alert_id NOT IN"
                " (SELECT alert_id FROM deliveries WHERE status = 'pending')",
                (before,),
            )
            self._db.execute("DELETE FROM deliveries WHERE alert_id NOT IN (SELECT alert_id FROM alerts)")
            self._db.execute("COMMIT")
        return int(cur.rowcount)
