"""A fake GitHub REST API on 127.0.0.1, so the real PyGithub client runs end to end.

It serves one repository: the repo itself, git refs (read from a real bare remote when one is given,
so a pull request can only be opened for a branch that was really pushed), pulls (list with
``state``/``head``/``base`` filters, create with 422 "A pull request already exists", get with merge
state, merge/close driven by the test), issue labels, issue comments, issues (list with ``state`` and
``labels``, comma-separated, all required; pull requests are listed too, with a ``pull_request`` key, as
GitHub does), and issue search (``GET /search/issues``: ``{"total_count", "incomplete_results",
"items"}``; qualifiers ``repo:``, ``is:issue``/``is:pull-request``, ``is:open``/``is:closed``,
``state:``, ``label:``; other terms must all appear in the title or body, case-insensitively; paged by
``per_page``/``page`` with a ``Link`` header). ``search_rate_limited`` makes search answer GitHub's
403 rate-limit error. Every URL in its answers points back to itself, as PyGithub requires. Requests
are recorded in ``calls``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from tests.fakes.local_http import LocalHTTPServer


@dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    draft: bool
    sha: str
    state: str = "open"
    merged: bool = False
    merge_commit_sha: str | None = None
    merged_at: str | None = None
    labels: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    head_owner: str = ""  # the owner of the fork the head branch lives in ("" : this repository)


@dataclass
class Issue:
    number: int
    title: str
    body: str
    state: str = "open"
    labels: list[str] = field(default_factory=list)


_SEARCH_TOKEN = re.compile(r'(?:(\w+):)?(?:"([^"]*)"|(\S+))')
_QUALIFIERS = frozenset({"repo", "is", "state", "label", "type", "in"})


class FakeGitHub(LocalHTTPServer):
    def __init__(
        self, *, owner: str = "acme", repo: str = "shop", token: str = "ghp_fake", remote: Path | None = None
    ) -> None:
        self.owner, self.repo, self.token, self.remote = owner, repo, token, remote
        self.forks: dict[str, Path] = {}  # owner → bare remote of that owner's fork (head "OWNER:branch")
        self.pulls: dict[int, Pull] = {}
        self.issues: dict[int, Issue] = {}
        self.calls: list[tuple[str, str, Any]] = []
        self.lock = threading.Lock()
        self._next_number = 1
        self.search_rate_limited = False
        self._serve(self._handler())

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.repo}"

    # --- test controls -----------------------------------------------------------------------------
    def add_issue(
        self, title: str, body: str, *, labels: list[str] | None = None, state: str = "open"
    ) -> int:
        with self.lock:
            number = self._take_number()
            self.issues[number] = Issue(number, title, body, state, list(labels or []))
            return number

    def merge(self, number: int, method: str | None = None) -> str | None:
        """Mark the pull request merged. With ``method`` (``merge`` or ``squash``) and a remote, also
        write the result on the base branch as GitHub does: a merge commit with the base and the head
        as parents, or one new commit with the head's tree on top of the base; its SHA becomes the
        pull request's ``merge_commit_sha``."""
        with self.lock:
            pull = self.pulls[number]
            if method is not None and self.remote is not None:
                pull.merge_commit_sha = self._write_merge(pull, method)
            pull.merged = True
            pull.state = "closed"
            pull.merged_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return pull.merge_commit_sha

    def _git_remote(self, *args: str, env: dict[str, str] | None = None) -> str:
        assert self.remote is not None
        ident = {"GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com",
                 "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com"}
        return subprocess.run(["git", "--git-dir", str(self.remote), *args], capture_output=True, text=True,
                              check=True, env={**os.environ, **ident, **(env or {})}).stdout.strip()

    def _write_merge(self, pull: Pull, method: str) -> str:
        base = self._git_remote("rev-parse", f"refs/heads/{pull.base}")
        head = self._git_remote("rev-parse", f"refs/heads/{pull.head}")
        tree = self._git_remote("merge-tree", "--write-tree", base, head).splitlines()[0]
        title = f"{pull.title} (#{pull.number})"
        if method == "squash":
            sha = self._git_remote("commit-tree", tree, "-p", base, "-m", title)
        elif method == "merge":
            sha = self._git_remote("commit-tree", tree, "-p", base, "-p", head, "-m",
                                   f"Merge pull request #{pull.number} from {self.owner}/{pull.head}")
        else:
            raise ValueError(f"unknown merge method {method!r}")
        self._git_remote("update-ref", f"refs/heads/{pull.base}", sha, base)
        return sha

    def close(self, number: int) -> None:
        with self.lock:
            self.pulls[number].state = "closed"

    def _take_number(self) -> int:
        number = self._next_number
        self._next_number += 1
        return number

    # --- JSON shapes -------------------------------------------------------------------------------
    def _repo_url(self) -> str:
        return f"{self.base_url}/repos/{self.full_name}"

    def _repo_json(self) -> dict[str, Any]:
        return {
            "id": 1,
            "name": self.repo,
            "full_name": self.full_name,
            "owner": {
                "login": self.owner,
                "id": 1,
                "url": f"{self.base_url}/users/{self.owner}",
                "type": "Organization",
            },
            "private": False,
            "url": self._repo_url(),
            "html_url": f"{self.base_url}/{self.full_name}",
            "default_branch": "main",
        }

    def _pull_json(self, pull: Pull) -> dict[str, Any]:
        url = f"{self._repo_url()}/pulls/{pull.number}"
        return {
            "id": 1000 + pull.number,
            "number": pull.number,
            "url": url,
            "html_url": f"{self.base_url}/{self.full_name}/pull/{pull.number}",
            "issue_url": f"{self._repo_url()}/issues/{pull.number}",
            "state": pull.state,
            "title": pull.title,
            "body": pull.body,
            "draft": pull.draft,
            "merged": pull.merged,
            "merge_commit_sha": pull.merge_commit_sha,
            "merged_at": pull.merged_at,
            "mergeable": True,
            "labels": [{"name": n, "url": f"{self._repo_url()}/labels/{n}"} for n in pull.labels],
            "head": {
                "ref": pull.head,
                "sha": pull.sha,
                "label": f"{pull.head_owner or self.owner}:{pull.head}",
                "repo": self._repo_json(),
            },
            "base": {
                "ref": pull.base,
                "sha": "0" * 40,
                "label": f"{self.owner}:{pull.base}",
                "repo": self._repo_json(),
            },
        }

    def _issue_json(self, number: int) -> dict[str, Any]:
        url = f"{self._repo_url()}/issues/{number}"
        if number in self.pulls:
            pull = self.pulls[number]
            return {
                "number": number,
                "url": url,
                "title": pull.title,
                "body": pull.body,
                "state": pull.state,
                "labels": [{"name": n, "url": f"{self._repo_url()}/labels/{n}"} for n in pull.labels],
                "pull_request": {"url": f"{self._repo_url()}/pulls/{number}"},
            }
        issue = self.issues[number]
        return {  # a plain issue has no "pull_request" key at all
            "id": 5000 + number,
            "number": number,
            "url": url,
            "repository_url": self._repo_url(),
            "html_url": f"{self.base_url}/{self.full_name}/issues/{number}",
            "title": issue.title,
            "body": issue.body,
            "state": issue.state,
            "labels": [{"name": n, "url": f"{self._repo_url()}/labels/{n}"} for n in issue.labels],
        }

    def _branch_sha(self, branch: str, owner: str = "") -> str | None:
        remote = self.forks.get(owner) if owner and owner != self.owner else self.remote
        if owner and owner != self.owner and remote is None:
            return None  # no such fork
        if remote is None:
            return "f" * 40
        out = subprocess.run(
            ["git", "--git-dir", str(remote), "rev-parse", "--verify", "-q", f"refs/heads/{branch}"],
            capture_output=True,
            text=True,
            check=False,
        )
        return out.stdout.strip() or None

    # --- routing -----------------------------------------------------------------------------------
    def _search_issues(self, q: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if self.search_rate_limited:
            return 403, {
                "message": "API rate limit exceeded for user ID 1.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            }, {
                "x-ratelimit-limit": "30",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "30",
                "x-ratelimit-reset": str(int(time.time()) + 60),
                "x-ratelimit-resource": "search",
            }
        query = q.get("q", "").strip()
        if not query:
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "Search", "field": "q", "code": "missing"}]}, {}
        kinds: set[str] = set()
        states: set[str] = set()
        labels: list[str] = []
        terms: list[str] = []
        for qualifier, quoted, bare in _SEARCH_TOKEN.findall(query):
            value = quoted or bare
            key = qualifier.lower()
            if key not in _QUALIFIERS:
                terms.append(f"{qualifier}:{value}" if qualifier else value)
            elif key == "repo" and value.lower() != self.full_name.lower():
                return 422, {"message": "Validation Failed", "errors": [{
                    "message": "The listed users and repositories cannot be searched either because the "
                               "resources do not exist or you do not have permission to view them.",
                    "resource": "Search", "field": "q", "code": "invalid"}]}, {}
            elif key in ("is", "type") and value.lower() in ("issue", "pr", "pull-request"):
                kinds.add("pr" if value.lower() != "issue" else "issue")
            elif key in ("is", "state") and value.lower() in ("open", "closed"):
                states.add(value.lower())
            elif key == "label":
                labels.append(value.lower())
        if not kinds:
            return 422, {"message": "Query must include 'is:issue' or 'is:pull-request'"}, {}
        found = []
        for number in sorted(set(self.issues) | set(self.pulls), reverse=True):
            item = self._issue_json(number)
            text = f"{item['title']}\n{item['body'] or ''}".lower()
            names = {label["name"].lower() for label in item["labels"]}
            if (
                ("pr" if "pull_request" in item else "issue") in kinds
                and (not states or item["state"] in states)
                and all(label in names for label in labels)
                and all(term.lower() in text for term in terms)
            ):
                found.append({**item, "score": 1.0})
        per_page = min(int(q.get("per_page", "30")), 100)
        page = int(q.get("page", "1"))
        items = found[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(found):
            headers["link"] = (
                f'<{self.base_url}/search/issues?{urlencode({**q, "page": page + 1})}>; rel="next"'
            )
        return 200, {"total_count": len(found), "incomplete_results": False, "items": items}, headers

    def route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        if path == "/search/issues" and method == "GET":
            with self.lock:
                return self._search_issues({k: v[0] for k, v in query.items()})
        prefix = f"/repos/{self.full_name}"
        if not path.startswith(prefix):
            return 404, {"message": "Not Found"}
        rest = path[len(prefix) :].strip("/")
        parts = rest.split("/") if rest else []
        q = {k: v[0] for k, v in query.items()}
        with self.lock:
            if not parts and method == "GET":
                return 200, self._repo_json()
            if parts[:1] == ["pulls"]:
                return self._pulls_route(method, parts[1:], q, body)
            if parts[:1] == ["issues"]:
                return self._issues_route(method, parts[1:], q, body)
            if parts[:2] == ["git", "ref"] and method == "GET":
                sha = self._branch_sha("/".join(parts[3:]))
                if sha is None:
                    return 404, {"message": "Not Found"}
                return 200, {
                    "ref": "refs/" + "/".join(parts[2:]),
                    "url": f"{self._repo_url()}/git/{'/'.join(parts[1:])}",
                    "object": {"sha": sha, "type": "commit", "url": f"{self._repo_url()}/git/commits/{sha}"},
                }
            if parts[:2] == ["git", "refs"] and method == "POST":
                ref = body["ref"]
                return 201, {
                    "ref": ref,
                    "url": f"{self._repo_url()}/git/{ref}",
                    "object": {
                        "sha": body["sha"],
                        "type": "commit",
                        "url": f"{self._repo_url()}/git/commits/{body['sha']}",
                    },
                }
        return 404, {"message": "Not Found"}

    def _pulls_route(self, method: str, parts: list[str], q: dict[str, str], body: Any) -> tuple[int, Any]:
        if not parts and method == "GET":
            found = [
                p
                for p in self.pulls.values()
                if q.get("state", "open") in ("all", p.state)
                and ("head" not in q or q["head"] == f"{p.head_owner or self.owner}:{p.head}")
                and ("base" not in q or q["base"] == p.base)
            ]
            return 200, [self._pull_json(p) for p in found]
        if not parts and method == "POST":
            head_owner, _, head = body["head"].rpartition(":")
            head_owner = "" if head_owner in ("", self.owner) else head_owner
            if any(
                p.head == head and p.head_owner == head_owner and p.base == body["base"] and p.state == "open"
                for p in self.pulls.values()
            ):
                return 422, {
                    "message": "Validation Failed",
                    "errors": [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {self.owner}:{head}.",
                        }
                    ],
                    "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
                }
            sha = self._branch_sha(head, head_owner)
            if sha is None:
                return 422, {
                    "message": "Validation Failed",
                    "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                }
            number = self._take_number()
            self.pulls[number] = Pull(
                number,
                head,
                body["base"],
                body["title"],
                body.get("body") or "",
                bool(body.get("draft", False)),
                sha,
                head_owner=head_owner,
            )
            return 201, self._pull_json(self.pulls[number])
        if len(parts) == 1 and method == "GET" and parts[0].isdigit() and int(parts[0]) in self.pulls:
            return 200, self._pull_json(self.pulls[int(parts[0])])
        return 404, {"message": "Not Found"}

    def _issues_route(self, method: str, parts: list[str], q: dict[str, str], body: Any) -> tuple[int, Any]:
        if not parts and method == "GET":
            numbers = sorted(set(self.issues) | set(self.pulls), reverse=True)
            state = q.get("state", "open")
            wanted = [name.strip().lower() for name in q.get("labels", "").split(",") if name.strip()]
            out = [self._issue_json(n) for n in numbers]
            return 200, [
                i for i in out
                if state in ("all", i["state"])
                and all(name in {label["name"].lower() for label in i["labels"]} for name in wanted)
            ]
        if not parts[0].isdigit() or not (int(parts[0]) in self.issues or int(parts[0]) in self.pulls):
            return 404, {"message": "Not Found"}
        number = int(parts[0])
        if parts[1:] == ["labels"] and method == "POST":
            names = body if isinstance(body, list) else body.get("labels", [])
            pull = self.pulls.get(number)
            if pull is not None:
                pull.labels.extend(n for n in names if n not in pull.labels)
                return 200, [{"name": n, "url": f"{self._repo_url()}/labels/{n}"} for n in pull.labels]
            return 200, [{"name": n, "url": f"{self._repo_url()}/labels/{n}"} for n in names]
        if parts[1:] == ["comments"] and method == "POST":
            if number in self.pulls:
                self.pulls[number].comments.append(body["body"])
            return 201, {"id": 1, "body": body["body"], "url": f"{self._repo_url()}/issues/comments/1"}
        if not parts[1:] and method == "GET":
            return 200, self._issue_json(number)
        return 404, {"message": "Not Found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("content-length", "0") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                url = urlparse(self.path)
                fake.calls.append((method, url.path, body))
                auth = self.headers.get("authorization", "")
                if auth not in (f"token {fake.token}", f"Bearer {fake.token}"):
                    status, payload, headers = 401, {"message": "Bad credentials"}, {}
                else:
                    answer = fake.route(method, url.path, parse_qs(url.query), body)
                    status, payload = answer[0], answer[1]
                    headers = answer[2] if len(answer) == 3 else {}
                data = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json; charset=utf-8")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PATCH(self) -> None:
                self._serve("PATCH")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

        return Handler
