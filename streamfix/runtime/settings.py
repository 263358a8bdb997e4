"""The one settings object.

Read once at an entry point (the CLI or the worker) with :func:`load_settings` and passed down. No
other module reads ``os.environ``. Variables are ``STREAMFIX_*`` plus the documented names
``ANTHROPIC_API_KEY``, ``GITHUB_TOKEN``, ``LOKI_ENABLED``, ``LOKI_PUSH_URL``,
``ERROR_MONITORING_ENABLED`` and ``AUTO_FIX_ENABLED``. Tokens are :class:`pydantic.SecretStr`, so they
print as ``**********``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from streamfix.core.rules.default import DEFAULT_FIXABLE_CATEGORIES


def _split_commas(value: Any) -> Any:
    """``"a, b,,c"`` → ``["a", "b", "c"]``; a list given in code passes unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


CommaList = Annotated[list[str], NoDecode, BeforeValidator(_split_commas)]
"""A list setting written in the environment as comma-separated values."""


def _env(name: str) -> AliasChoices:
    """Accept ``STREAMFIX_<NAME>`` and, for the documented names, the bare ``<NAME>``."""
    return AliasChoices(name, f"STREAMFIX_{name}")


class Settings(BaseSettings):
    """Every knob of streamfix. Field ``foo_bar`` is read from ``STREAMFIX_FOO_BAR``."""

    model_config = SettingsConfigDict(
        env_prefix="STREAMFIX_",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    # --- Kafka and the Faust app -------------------------------------------------------------------
    broker: str = Field("kafka://127.0.0.1:9092", description="Kafka bootstrap servers (kafka://host:port;...)")
    app_id: str = Field("streamfix", description="Faust app id; also the consumer group id")
    topic_prefix: str = Field("streamfix", description="Prefix of every topic streamfix creates")
    topic_partitions: int = Field(4, ge=1, description="Partitions of streamfix's topics and tables")
    topic_replication: int = Field(1, ge=1, description="Replication factor of streamfix's topics")
    store: str = Field("memory://", description="Faust table store: memory:// or rocksdb://")
    data_dir: Path = Field(Path(".cache/worker"), description="Faust data directory (RocksDB, state)")
    web_host: str = Field("127.0.0.1", description="Address the worker's web server binds to")
    web_port: int = Field(8000, ge=1, le=65535, description="Port of the REST API, dashboard and /metrics")
    broker_session_timeout: float = Field(10.0, gt=0, description="Consumer group session timeout (s)")
    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        "at_least_once", description="Faust processing guarantee"
    )

    # --- Local broker (streamfix kafka up) ---------------------------------------------------------
    kafka_port: int = Field(9092, ge=1, le=65535, description="Port of the local broker")
    kafka_controller_port: int = Field(0, ge=0, le=65535, description="Controller port (0: kafka_port+1)")
    kafka_home: Path = Field(Path(".cache/kafka"), description="Jars, data, PID and log of the local broker")
    kafka_heap: str = Field("512m", description="Maximum Java heap of the local broker")

    # --- Monitoring --------------------------------------------------------------------------------
    error_monitoring_enabled: bool = Field(True, validation_alias=_env("ERROR_MONITORING_ENABLED"))
    auto_fix_enabled: bool = Field(False, validation_alias=_env("AUTO_FIX_ENABLED"))
    window_seconds: int = Field(60, ge=1, description="Width of the tumbling count windows (s)")
    window_retention_seconds: int = Field(86400, ge=60, description="How long count windows are kept (s)")
    fix_threshold_count: int = Field(5, ge=1, description="Occurrences that make a fixable pattern trigger a fix")
    fix_threshold_window_seconds: int = Field(3600, ge=60, description="Window of the fix threshold (s)")
    fixable_categories: CommaList = Field(
        default_factory=lambda: sorted(DEFAULT_FIXABLE_CATEGORIES),
        description="Categories whose patterns are fixable (comma-separated); add internal_error or "
                    "validation_error to have code bugs or input handling fixed",
    )
    stall_seconds: float = Field(
        60.0, ge=0, description="An input partition with records waiting and no commit for this long is read again "
                                "from its committed offset (0: only report lag)",
    )
    assembly_quiet_seconds: float = Field(5.0, gt=0, description="Quiet period that flushes a half traceback")
    rules_file: Path | None = Field(None, description="User classification rules (TOML), checked first")
    max_line_bytes: int = Field(1_048_576, ge=1024, description="Longer lines go to the dead-letter topic")
    ingest_max_in_flight: int = Field(
        64, ge=1, description="Raw batches applied while earlier ones wait for their error records to be "
                              "acknowledged (1: one at a time)",
    )
    in_app_exclude: CommaList = Field(default_factory=list, description="Extra path prefixes that are not in-app")

    # --- Sources -----------------------------------------------------------------------------------
    batch_max_lines: int = Field(1000, ge=1, description="Lines per raw batch at most")
    batch_max_seconds: float = Field(0.25, gt=0, description="Longest a line waits in a tailer's batch (s)")
    loki_enabled: bool = Field(False, validation_alias=_env("LOKI_ENABLED"))
    loki_push_url: str | None = Field(None, validation_alias=_env("LOKI_PUSH_URL"))
    loki_url: str | None = Field(None, description="Loki base URL for the poller (http://host:3100)")
    loki_org_id: str | None = Field(None, description="X-Scope-OrgID for multi-tenant Loki")
    loki_token: SecretStr | None = Field(None, description="Bearer token for Loki")
    loki_username: str | None = Field(None, description="Basic-auth user for Loki")
    loki_password: SecretStr | None = Field(None, description="Basic-auth password for Loki")
    railway_bin: str = Field("railway", description="The Railway CLI executable")
    loki_query: str | None = Field(None, description="LogQL selector the Loki watcher and scan read")
    loki_page_limit: int = Field(5000, ge=1, le=5000, description="Entries per query_range page (Loki caps it at 5000)")
    loki_poll_interval: float = Field(5.0, gt=0, description="Seconds between Loki polls")
    loki_lookback_seconds: float = Field(300.0, ge=0, description="How far back a Loki watcher without a cursor starts (s)")
    loki_timeout: float = Field(30.0, gt=0, description="HTTP timeout of Loki requests (s)")
    log_ship_queue: int = Field(10000, ge=1, description="streamfix log records waiting for Loki at most")

    # --- Fixer -------------------------------------------------------------------------------------
    fixer_in_worker: bool = Field(
        True, description="Run the fix consumer inside every worker; false when a `streamfix fixer` runs instead"
    )
    anthropic_api_key: SecretStr | None = Field(None, validation_alias=_env("ANTHROPIC_API_KEY"))
    anthropic_base_url: str | None = Field(None, validation_alias=_env("ANTHROPIC_BASE_URL"))
    anthropic_model: str = Field("claude-sonnet-5-5", description="Claude model for root-cause analysis")
    github_token: SecretStr | None = Field(None, validation_alias=_env("GITHUB_TOKEN"))
    github_api_url: str = Field("https://api.github.com", description="GitHub REST base URL (Enterprise)")
    github_repo: str | None = Field(None, description="owner/name of the repository fixes go to")
    repo_url: str | None = Field(None, description="Git URL of the repository to clone and push to")
    repo_default_branch: str = Field("main", description="Branch fixes start from and PRs target")
    anthropic_timeout: float = Field(120.0, gt=0, description="Timeout of one Claude request (s)")
    anthropic_max_retries: int = Field(2, ge=0, description="Retries inside the Anthropic SDK per call")
    anthropic_max_tokens: int = Field(4096, ge=256, description="max_tokens of one analysis")
    fix_retry_attempts: int = Field(3, ge=1, description="Our own attempts (each with SDK retries) before parking")
    fix_retry_base_delay: float = Field(2.0, ge=0, description="First delay of our backoff between attempts (s)")
    fix_park_seconds: float = Field(600.0, ge=0, description="How long a parked fix request waits before a retry (s)")
    fix_concurrency: int = Field(2, ge=1, description="Fix requests processed at the same time")
    fix_max_calls_per_hour: int = Field(30, ge=0, description="Claude calls per rolling hour at most")
    fix_max_tokens_per_day: int = Field(2_000_000, ge=0, description="Claude tokens (in+out) per rolling day at most")
    fix_min_confidence: float = Field(0.7, ge=0, le=1, description="Below this confidence no branch or PR is made")
    fix_blocked_paths: CommaList = Field(
        default_factory=lambda: [".github/workflows/", "**/secrets*", "**/migrations/"],
        description="Globs of repo paths a fix may never touch (a trailing / blocks a folder)",
    )
    fix_max_diff_lines: int = Field(200, ge=1, description="Largest fix diff (added + removed lines)")
    fix_in_app_paths: CommaList = Field(
        default_factory=list, description="Runtime path prefixes of app code (empty: the frames' in_app flag)"
    )
    fix_context_lines: int = Field(25, ge=1, description="Source lines shown before and after each frame")
    fix_max_context_chars: int = Field(30000, ge=1000, description="Cap on the source context sent for analysis")
    fix_clone_dir: Path = Field(Path(".cache/fix-repo"), description="Cached clone of the target repository")
    fix_draft_prs: bool = Field(True, description="Open fix pull requests as drafts")
    fix_git_author: str = Field("streamfix <streamfix@users.noreply.github.com>", description="Author of fix commits")
    fix_track_interval: float = Field(300.0, gt=0, description="How often open fix pull requests are polled (s)")
    fix_edit_scope: Literal["frames", "repo"] = Field(
        "frames", description="Files a fix may change: frames (the in-app files of the stack frames) or repo (any file; risky, see docs/security.md)"
    )
    fix_allowed_paths: CommaList = Field(
        default_factory=list, description="Extra globs of files a fix may change besides the frame files (see docs/security.md)"
    )
    fix_allow_sensitive_paths: CommaList = Field(
        default_factory=list, description="Globs of sensitive files (CI, build, manifests, tests, deploy, settings) a fix may change anyway; risky"
    )
    fix_refuse_new_urls: bool = Field(True, description="Refuse edits that add URLs or IP addresses")
    fix_refuse_new_imports: bool = Field(True, description="Refuse edits that import modules the repository does not depend on")
    fix_refuse_new_calls: bool = Field(True, description="Refuse edits that add process, eval or network calls")
    fix_refuse_log_echo: bool = Field(True, description="Refuse edits that add words copied from the log that the source lacks")
    fix_fork_url: str | None = Field(
        None, description="Git URL of a fork to push fix branches to; the PR is opened from it (see docs/security.md)"
    )
    fix_fork_owner: str | None = Field(None, description="GitHub owner of the fork (head of the PR is OWNER:BRANCH)")
    scrub_at_ingest: bool = Field(True, description="Redact secrets and PII from error events before they reach topics, tables and the API")
    fix_regression_grace_seconds: float = Field(
        600.0, ge=0, description="After a fix merges, occurrences within this deploy grace period (event time) "
                                 "are not regressions (s)")
    fix_resolve_quiet_seconds: float = Field(
        259200.0, gt=0, description="A merged fix's pattern quiet this long after the merge is resolved (s)")
    pattern_archive_days: float = Field(
        30.0, gt=0, description="Patterns quiet this many days are archived: hidden from lists, kept small")
    pattern_archive_sweep_seconds: float = Field(
        3600.0, gt=0, description="How often the group agent looks for patterns to archive and compact (s)")
    fix_effectiveness_window_seconds: float = Field(
        86400.0, gt=0, description="Length of the equal windows before and after a merge that judge a fix (s)")
    fix_models: CommaList = Field(
        default_factory=list, description="Models to compare (comma-separated): each pattern is analysed by the "
                                          "model of its A/B arm (stable hash of the fingerprint); empty: anthropic_model")
    fix_revert_enabled: bool = Field(
        False, description="Open a revert pull request (never merged) for a merged fix whose errors rise")
    fix_revert_threshold: int = Field(
        10, ge=1, description="Occurrences after a merge (its pattern, or patterns in the files it changed) "
                              "that call for a revert")
    fix_revert_window_seconds: float = Field(
        86400.0, gt=0, description="How long after a merge (and its grace period) occurrences count for a revert (s)")
    fix_prompt_strategies: CommaList = Field(
        default_factory=list, description="Prompt strategies to compare (comma-separated: default, minimal, "
                                          "defensive, root-cause): each pattern gets the one of its A/B arm")
    fix_candidate_models: CommaList = Field(
        default_factory=list, description="Two or more models (comma-separated): each request asks all of them, "
                                          "checks every candidate and keeps the best by score")
    fix_test_command: str | None = Field(
        None, description="The project's test command, run in each candidate's isolated checkout (no shell)")
    fix_test_timeout_seconds: float = Field(300.0, gt=0, description="Time limit of one candidate's test run (s)")
    fix_ab_min_fixes: int = Field(
        20, ge=1, description="Judged fixes each A/B arm needs before one arm is declared better")
    fix_issue_labels: CommaList = Field(
        default_factory=list, description="Issue labels (comma-separated): open issues carrying one are listed "
                                          "as related in the fix pull request")

    # --- API ---------------------------------------------------------------------------------------
    api_token: SecretStr | None = Field(None, description="Bearer token for mutating API routes")
    api_auth_reads: bool = Field(False, description="Require the token on read routes too")
    api_rate_limit: float = Field(20.0, ge=0, description="API requests per second per client (0: no limit)")
    api_rate_burst: int = Field(40, ge=1, description="API requests a client may make at once before the rate applies")
    api_max_body_bytes: int = Field(65536, ge=0, description="Largest API request body; larger ones get 413")
    api_cors_origins: CommaList = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (comma-separated; none by default)"
    )
    api_cache_seconds: float = Field(1.0, ge=0, description="How long a read route's answer is reused (s)")
    api_allowed_hosts: CommaList = Field(
        default_factory=list,
        description="Host header names the API answers (comma-separated; empty: the names of the bind address); others get 421",
    )

    @field_validator("fix_prompt_strategies")
    @classmethod
    def _known_strategies(cls, value: list[str]) -> list[str]:
        from streamfix.core.strategies import check

        return check(value)

    # --- Alerting ----------------------------------------------------------------------------------
    alert_rules: Path | None = Field(None, description="Alert rules (TOML); without it critical and new-pattern alerts go to every channel")
    alert_public_url: str = Field("http://127.0.0.1:8000", description="Base URL of the dashboard, linked from alerts")
    alert_environment: str | None = Field(None, description="Environment name put on alerts (production, staging, ...)")
    alert_bucket_seconds: int = Field(3600, ge=1, description="Width of the rate buckets of spike detection (s)")
    alert_slack_webhook_url: SecretStr | None = Field(None, description="Slack incoming webhook URL")
    alert_discord_webhook_url: SecretStr | None = Field(None, description="Discord webhook URL")
    alert_pagerduty_routing_key: SecretStr | None = Field(None, description="PagerDuty Events API v2 integration key")
    alert_pagerduty_url: str = Field("https://events.pagerduty.com/v2/enqueue", description="PagerDuty Events API v2 endpoint")
    alert_opsgenie_api_key: SecretStr | None = Field(None, description="Opsgenie API key (GenieKey)")
    alert_opsgenie_url: str = Field("https://api.opsgenie.com", description="Opsgenie API base URL (api.eu.opsgenie.com in the EU)")
    alert_webhook_url: str | None = Field(None, description="Generic webhook receiving alerts as signed JSON")
    alert_webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key of the generic webhook's signature")
    alert_db: Path | None = Field(None, description="Delivery state of alerts, SQLite (default: <data_dir>/alerts.sqlite)")
    alert_resolve_quiet_seconds: float = Field(3600.0, gt=0, description="An incident resolves when its pattern is quiet this long (s)")
    alert_rate_per_minute: float = Field(30.0, gt=0, description="Messages per minute per channel at most")
    alert_retry_base_seconds: float = Field(2.0, gt=0, description="First retry delay of a failing channel (s), doubled each time")
    alert_retry_max_seconds: float = Field(300.0, gt=0, description="Longest retry delay of a failing channel (s)")
    alert_http_timeout: float = Field(10.0, gt=0, description="Timeout of one channel request (s)")
    alert_delivery_interval: float = Field(1.0, gt=0, description="How often parked and due deliveries are tried (s)")

    # --- Logging -----------------------------------------------------------------------------------
    log_level: str = Field("INFO", description="Log level of streamfix's own logs")
    log_format: Literal["json", "text"] = Field("json", description="Format of streamfix's own logs")

    # --- Redeliveries and batch size ---------------------------------------------------------------
    dedupe_window_seconds: float = Field(
        900.0, ge=0, description="A raw batch whose batch_id the stream saw within this many seconds (by sent_at) "
                                 "is dropped as a redelivery")
    dedupe_max_ids: int = Field(256, ge=0, description="Batch ids remembered per stream at most")
    assembly_idle_flush_seconds: float = Field(
        30.0, ge=0, description="A stream silent this long (wall clock) has its open traceback flushed; "
                                "longer source outages than this can cut a traceback in two")
    batch_max_bytes: int = Field(
        4 * 1024 * 1024, ge=1024, description="Bytes of lines per raw batch at most (tailers, replay, scans)")

    @field_validator("fixable_categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        from streamfix.core.classify import check_categories

        return sorted(check_categories(value))

    @field_validator("broker")
    @classmethod
    def _broker_scheme(cls, value: str) -> str:
        return value if "://" in value else f"kafka://{value}"

    @property
    def bootstrap_servers(self) -> str:
        """The broker list without URL schemes, as aiokafka wants it (``host:port,host:port``)."""
        parts = self.broker.replace(";", ",").split(",")
        return ",".join(part.split("://", 1)[-1] for part in parts if part)


def load_settings(**overrides: Any) -> Settings:
    """Read settings from the environment (and ``overrides``); call once per entry point."""
    return Settings(**overrides)


def env_names(name: str, field: Any) -> list[str]:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [f"STREAMFIX_{name.upper()}"]


def markdown_table() -> str:
    """The configuration table of the README (kept equal to it by a test)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "" if default is None else ("`" + (",".join(default) if isinstance(default, list) else str(default)) + "`")
        if field.annotation is not None and "SecretStr" in str(field.annotation):
            shown = "(secret)"
        meaning = field.description or {
            "error_monitoring_enabled": "Run error extraction and grouping (false: batches and events are consumed and counted only)",
            "auto_fix_enabled": "Turn fixable patterns over the threshold into fix requests",
            "loki_enabled": "Ship streamfix's own logs to Loki",
            "loki_push_url": "Loki push endpoint for streamfix's own logs",
            "anthropic_api_key": "Claude API key; without it fixes get the rule-based suggestion",
            "anthropic_base_url": "Claude API base URL (proxies, tests)",
            "github_token": "GitHub token; without it fixes stop at a local branch",
        }.get(name, "")
        rows.append(f"| `{' / '.join(env_names(name, field))}` | {shown} | {meaning} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover - documentation tool
    import sys

    sys.stdout.write(markdown_table())
