"""Git adapter (GitPython): the cached clone, fix branches, deterministic commits, token-auth pushes.

The token never touches disk or a command line: git asks ``GIT_ASKPASS``, a small script written
once into a private temporary folder, which prints the token from the child process environment
(``STREAMFIX_GIT_TOKEN``). So the token is never in ``.git/config``, in a remote URL, in ``argv``
(which GitPython logs) or in our logs. ``credential.helper`` is emptied with ``-c`` for every call, so
no helper stores it either. git errors are translated into :class:`~streamfix.errors.FixError` with
the token removed from their text.

Every method is blocking; the service calls them in a worker thread under one lock per clone.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import git

from streamfix.errors import FixError

log = logging.getLogger(__name__)

_ASKPASS = """#!/bin/sh
case "$1" in
  Username*|username*) printf '%s\\n' "${STREAMFIX_GIT_USERNAME:-x-access-token}" ;;
  *) printf '%s\\n' "$STREAMFIX_GIT_TOKEN" ;;
esac
"""


class GitAuth:
    """Environment for git child processes that authenticates with a token through GIT_ASKPASS."""

    def __init__(self, token: str | None) -> None:
        self._token = token
        self._script: Path | None = None

    def env(self) -> dict[str, str]:
        env = {"GIT_TERMINAL_PROMPT": "0"}
        if self._token:
            env["GIT_ASKPASS"] = str(self._askpass())
            env["STREAMFIX_GIT_TOKEN"] = self._token
        return env

    def scrub(self, text: str) -> str:
        return text.replace(self._token, "[REDACTED:git_token]") if self._token else text

    def _askpass(self) -> Path:
        if self._script is None:
            folder = Path(tempfile.mkdtemp(prefix="streamfix-askpass-"))
            script = folder / "askpass.sh"
            script.write_text(_ASKPASS)
            script.chmod(stat.S_IRWXU)
            self._script = script
        return self._script


class GitOps:
    """One cached clone of the target repository and the operations a fix needs on it."""

    def __init__(
        self,
        clone_dir: Path,
        repo_url: str,
        default_branch: str,
        *,
        token: str | None = None,
        author: str = "streamfix <streamfix@users.noreply.github.com>",
        push_url: str | None = None,
    ) -> None:
        self.root = clone_dir.resolve()
        self.push_url = push_url  # a fork: branches are pushed there, never to the base repository
        self.repo_url = repo_url
        self.default_branch = default_branch
        self.auth = GitAuth(token)
        name, _, email = author.partition("<")
        self._author_name = name.strip() or "streamfix"
        self._author_email = email.rstrip(">").strip() or "streamfix@users.noreply.github.com"

    # --- exclusion ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the clone (``<clone_dir>.lock``), across processes and instances.

        Blocking: call it in a worker thread. Two workers sharing one clone directory take turns.
        """
        self.root.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root.parent / f"{self.root.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    # --- plumbing ----------------------------------------------------------------------------------
    def _git(self, *args: str, cwd: Path | None = None, extra_env: dict[str, str] | None = None) -> str:
        command = ["git", "-c", "credential.helper=", "-c", "core.hooksPath=/dev/null", *args]
        env = self.auth.env()
        if extra_env:
            env.update(extra_env)
        try:
            out: str = git.Git(str(cwd or self.root)).execute(command, env=env, strip_newline_in_stdout=True)
        except git.GitCommandError as exc:
            detail = self.auth.scrub(str(exc.stderr or exc.stdout or exc).strip())
            raise FixError(f"git {args[0]} failed: {detail[-500:]}") from None
        return out

    # --- clone -------------------------------------------------------------------------------------
    def sync(self) -> None:
        """Clone once, then fetch and reset the clone to ``origin/<default branch>`` with no leftovers."""
        if not (self.root / ".git").is_dir():
            self.root.parent.mkdir(parents=True, exist_ok=True)
            log.info("cloning target repository", extra={"clone_dir": str(self.root)})
            self._git("clone", "--no-tags", "--", self.repo_url, str(self.root), cwd=self.root.parent)
        else:
            if self._git("remote", "get-url", "origin") != self.repo_url:
                self._git("remote", "set-url", "origin", self.repo_url)
            self._git("fetch", "--prune", "--no-tags", "origin")
        self._git("checkout", "-f", "-B", self.default_branch, f"origin/{self.default_branch}")
        self._git("reset", "--hard", f"origin/{self.default_branch}")
        self._git("clean", "-ffdx")

    def files(self) -> list[str]:
        out = self._git("ls-files", "-z")
        return [name for name in out.split("\0") if name]

    # --- branches and commits ----------------------------------------------------------------------
    def start_branch(self, branch: str) -> None:
        """Check ``branch`` out fresh from ``origin/<default branch>`` (recreating it if it exists)."""
        self._git("checkout", "-f", "-B", branch, f"origin/{self.default_branch}")

    def commit(self, paths: Sequence[str], message: str, *, when: float) -> str:
        """Commit ``paths`` with fixed author and committer dates, so replays give the same SHA."""
        self._git("add", "--", *paths)
        stamp = f"{int(when)} +0000"
        env = {
            "GIT_AUTHOR_NAME": self._author_name,
            "GIT_AUTHOR_EMAIL": self._author_email,
            "GIT_COMMITTER_NAME": self._author_name,
            "GIT_COMMITTER_EMAIL": self._author_email,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_DATE": stamp,
        }
        with tempfile.NamedTemporaryFile("w", prefix="streamfix-msg-", suffix=".txt", delete=False) as fh:
            fh.write(message)
            msg_path = fh.name
        try:
            self._git("commit", "--no-verify", "--no-gpg-sign", "-q", "-F", msg_path, extra_env=env)
        finally:
            os.unlink(msg_path)
        return self._git("rev-parse", "HEAD")

    def _push_remote(self) -> str:
        """``origin``, or the ``fork`` remote (created or re-pointed) when a fork URL is configured."""
        if not self.push_url:
            return "origin"
        remotes = self._git("remote").split()
        if "fork" not in remotes:
            self._git("remote", "add", "fork", self.push_url)
        elif self._git("remote", "get-url", "fork") != self.push_url:
            self._git("remote", "set-url", "fork", self.push_url)
        return "fork"

    def remote_branch_sha(self, branch: str) -> str | None:
        out = self._git("ls-remote", "--heads", self._push_remote(), f"refs/heads/{branch}")
        return out.split()[0] if out.strip() else None

    def push(self, branch: str, sha: str) -> bool:
        """Make the branch on the push remote (the fork, if any) point at ``sha``. Returns False when it
        already did (a replay)."""
        if self.remote_branch_sha(branch) == sha:
            return False
        self._git("push", "--force", "--no-verify", self._push_remote(), f"{sha}:refs/heads/{branch}")
        return True

    def restore(self) -> None:
        """Leave the clone on the default branch with a clean tree."""
        self._git("checkout", "-f", self.default_branch)
        self._git("clean", "-ffdx")

    def config_text(self) -> str:
        return (self.root / ".git" / "config").read_text()
