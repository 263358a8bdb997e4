"""What a model-written fix may change: an allowlist of paths and a policy on the content it adds.

Pure functions over plain data; :mod:`streamfix.fixing.apply` calls them for every edit and turns a
refusal (a reason string) into ``fix_invalid``.

Paths. By default (``scope="frames"``) an edit may change only the in-app source files named in the
error's stack frames, mapped to repository paths. ``extra_allowed`` globs widen that, and
``scope="repo"`` allows any existing file. Whatever the scope, a path that matches a
:data:`SENSITIVE_PATHS` glob (CI, build and packaging config, dependency manifests and lockfiles,
ownership and security files, git metadata, tests, deploy scripts, settings, secrets) is refused
unless it also matches an ``allow_sensitive`` glob.

Content. Refused, in what an edit adds (compared with the file before): invisible, bidirectional,
private-use or surrogate characters and control characters (always); and, each on by default, new URLs
or IP addresses, imports of modules that are not already dependencies, new process, eval or network
calls, and words copied from the log that neither the file nor the source shown to the model contains
(text an injected instruction asked for).
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from streamfix.core.untrusted import is_invisible

SENSITIVE_PATHS: tuple[str, ...] = (
    # CI and automation
    ".github/",
    ".gitlab/",
    ".gitlab-ci.yml",
    ".circleci/",
    ".buildkite/",
    ".travis.yml",
    ".drone.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    "**/Jenkinsfile",
    ".woodpecker/",
    ".woodpecker.yml",
    ".pre-commit-config.yaml",
    ".githooks/",
    ".husky/",
    ".devcontainer/",
    ".vscode/",
    ".idea/",
    # git metadata and ownership/security files
    "**/.gitattributes",
    "**/.gitmodules",
    "**/.gitignore",
    ".git-blame-ignore-revs",
    "**/.mailmap",
    "**/CODEOWNERS",
    "docs/CODEOWNERS",
    "**/SECURITY.md",
    "**/LICENSE*",
    "**/COPYING*",
    # build, packaging, dependency manifests and lockfiles
    "**/Makefile",
    "**/GNUmakefile",
    "**/*.mk",
    "**/Dockerfile*",
    "**/*.dockerfile",
    "**/.dockerignore",
    "**/docker-compose*.yml",
    "**/docker-compose*.yaml",
    "**/compose*.yml",
    "**/compose*.yaml",
    "**/pyproject.toml",
    "**/setup.py",
    "**/setup.cfg",
    "**/MANIFEST.in",
    "**/requirements*.txt",
    "**/requirements/",
    "**/constraints*.txt",
    "**/Pipfile",
    "**/Pipfile.lock",
    "**/poetry.lock",
    "**/uv.lock",
    "**/pdm.lock",
    "**/tox.ini",
    "**/noxfile.py",
    "**/package.json",
    "**/package-lock.json",
    "**/yarn.lock",
    "**/pnpm-lock.yaml",
    "**/.npmrc",
    "**/.yarnrc*",
    "**/.pypirc",
    "**/pip.conf",
    "**/go.mod",
    "**/go.sum",
    "**/Cargo.toml",
    "**/Cargo.lock",
    "**/Gemfile",
    "**/Gemfile.lock",
    "**/build.gradle*",
    "**/pom.xml",
    "**/BUILD",
    "**/BUILD.bazel",
    "**/WORKSPACE",
    "**/*.bzl",
    # deploy
    "**/Procfile",
    "**/railway.json",
    "**/railway.toml",
    "**/vercel.json",
    "**/netlify.toml",
    "**/fly.toml",
    "**/render.yaml",
    "**/app.yaml",
    "**/nixpacks.toml",
    "**/deploy/",
    "**/deployment/",
    "**/k8s/",
    "**/helm/",
    "**/terraform/",
    "**/*.tf",
    "**/ansible/",
    "**/scripts/",
    "**/bin/",
    "**/*.sh",
    "**/*.bash",
    "**/*.ps1",
    "**/*.bat",
    "**/*.cmd",
    # tests
    "**/tests/",
    "**/test/",
    "**/testing/",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
    "**/*.test.js",
    "**/*.test.ts",
    "**/*.spec.js",
    "**/*.spec.ts",
    "**/__tests__/",
    # settings, secrets and keys
    "**/settings.py",
    "**/settings/",
    "**/.env*",
    "**/*.env",
    "**/secrets*",
    "**/*secret*",
    "**/*credential*",
    "**/*.pem",
    "**/*.key",
    "**/*.crt",
    "**/*.p12",
    "**/*.pfx",
    "**/id_rsa*",
    "**/id_ed25519*",
    "**/.ssh/",
    "**/*.kdbx",
    "**/migrations/",
    "**/alembic/",
)
"""Globs that no fix may touch without an explicit ``allow_sensitive`` glob (see docs/security.md)."""


@dataclass(frozen=True, slots=True)
class EditPolicy:
    scope: str = "frames"  # "frames" or "repo"
    extra_allowed: tuple[str, ...] = ()
    sensitive: tuple[str, ...] = SENSITIVE_PATHS
    allow_sensitive: tuple[str, ...] = ()
    refuse_new_urls: bool = True
    refuse_new_imports: bool = True
    refuse_new_calls: bool = True
    refuse_log_echo: bool = True


@dataclass(frozen=True, slots=True)
class EditContext:
    """What the checks compare against: the frame files, the modules the repository already depends on,
    the words of the untrusted log text and the words of the source shown to the model."""

    frame_files: frozenset[str] = frozenset()
    known_modules: frozenset[str] = frozenset()
    log_words: frozenset[str] = frozenset()
    shown_words: frozenset[str] = frozenset()
    extra: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """``**/`` any folders, ``*`` within one component, ``?`` one character; ``dir/`` a whole folder."""
    folder = pattern.endswith("/")
    body = pattern.rstrip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    tail = "/.*" if folder else "(?:/.*)?"
    return re.compile("".join(out) + tail + r"\Z", re.IGNORECASE)


def matches(path: str, globs: Iterable[str]) -> str | None:
    """The first glob that ``path`` (a normalised repo path) matches."""
    for pattern in globs:
        if glob_regex(pattern).match(path):
            return pattern
    return None


def check_path(path: str, policy: EditPolicy, context: EditContext) -> str | None:
    """Why ``path`` (normalised, inside the repository) may not be edited, or None when it may."""
    sensitive = matches(path, policy.sensitive)
    if sensitive is not None and matches(path, policy.allow_sensitive) is None:
        return f"path is sensitive ({sensitive}); allow it with STREAMFIX_FIX_ALLOW_SENSITIVE_PATHS"
    if policy.scope == "repo":
        return None
    if path in context.frame_files or matches(path, policy.extra_allowed) is not None:
        return None
    return (
        "not a source file named in the error's stack frames; "
        "allow it with STREAMFIX_FIX_EDIT_SCOPE=repo or STREAMFIX_FIX_ALLOWED_PATHS"
    )


# --- content -------------------------------------------------------------------------------------------

_URL = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.\-]*://|www\.)[^\s\"'<>`)\]]+|\b(?:\d{1,3}\.){3}\d{1,3}\b")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{5,}|[A-Za-z0-9][A-Za-z0-9_\-]{7,}")
_IMPORT_LINE = re.compile(
    r"^\s*(?:from\s+([A-Za-z_]\w*)[\w.]*\s+import\b|import\s+([A-Za-z_][\w.,\s]*))", re.M
)

_DANGEROUS_NAMES = frozenset(
    {
        "eval",
        "exec",
        "compile",
        "__import__",
        "breakpoint",
        "system",
        "popen",
        "spawn",
        "spawnl",
        "spawnv",
        "execv",
        "execve",
        "execl",
        "execlp",
        "execvp",
        "fork",
        "forkpty",
        "urlopen",
        "urlretrieve",
        "import_module",
        "create_connection",
        "getaddrinfo",
        "gethostbyname",
        "Function",
        "setTimeout",
        "fetch",
        "load_dynamic",
        "loads_pickle",
        "dlopen",
        "CDLL",
    }
)
_DANGEROUS_ROOTS = frozenset(
    {
        "subprocess",
        "socket",
        "requests",
        "httpx",
        "urllib",
        "urllib2",
        "urllib3",
        "aiohttp",
        "http",
        "ftplib",
        "smtplib",
        "telnetlib",
        "paramiko",
        "pty",
        "ctypes",
        "child_process",
        "pickle",
        "marshal",
        "webbrowser",
        "asyncssh",
        "pycurl",
        "xmlrpc",
        "websocket",
        "websockets",
        "grpc",
        "importlib",
        "dill",
    }
)
_JS_CALLS = re.compile(
    r"\b(?:eval|Function|execSync|exec|spawn|spawnSync|fork|fetch|XMLHttpRequest|require\s*\(\s*['\"]"
    r"(?:child_process|http|https|net|dgram|tls)['\"]\s*\)|import\s*\()"
)


def _lines_added(before: str, after: str) -> str:
    old = Counter(before.splitlines())
    added = []
    for line in after.splitlines():
        if old[line] > 0:
            old[line] -= 1
        else:
            added.append(line)
    return "\n".join(added)


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return ""


def _risky_calls(tree: ast.AST) -> Counter[str]:
    found: Counter[str] = Counter()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        if not name:
            continue
        parts = name.split(".")
        last, root = parts[-1], parts[0]
        if last in _DANGEROUS_NAMES or (root in _DANGEROUS_ROOTS and len(parts) > 1):
            found[name] += 1
    return found


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and _dotted(node.func) in ("__import__", "importlib.import_module"):
            names.add("<dynamic>")
    return names


def imported_modules(source: str) -> set[str]:
    """Top-level module names a Python source imports (by a regex, so broken files count too)."""
    names: set[str] = set()
    for match in _IMPORT_LINE.finditer(source):
        if match.group(1):
            names.add(match.group(1))
        else:
            for part in match.group(2).split(","):
                first = part.strip().split(" ")[0].split(".")[0]
                if first.isidentifier():
                    names.add(first)
    return names


STDLIB: frozenset[str] = frozenset(sys.stdlib_module_names)
_COMMON_WORDS = frozenset(keyword.kwlist) | frozenset(dir(builtins))


_MARKERS = re.compile(r"\[REDACTED[^\]]*\]")


def words(text: str) -> set[str]:
    """Distinctive words of ``text`` (six characters or more), redaction markers left out."""
    return set(_WORD.findall(_MARKERS.sub(" ", text)))


def check_content(path: str, before: str, after: str, policy: EditPolicy, context: EditContext) -> str | None:
    """Why the change of ``path`` from ``before`` to ``after`` is refused, or None when it is allowed."""
    added = _lines_added(before, after)
    for ch in added:
        code = ord(ch)
        if is_invisible(ch) or (code < 32 and ch not in "\t\n\r") or 0x7F <= code <= 0x9F:
            return f"adds an invisible or control character (U+{code:04X})"
    if policy.refuse_new_urls:
        new_urls = set(_URL.findall(added)) - set(_URL.findall(before))
        if new_urls:
            return f"adds {len(new_urls)} new URL(s) or address(es)"
    is_python = path.endswith((".py", ".pyi"))
    if is_python and (policy.refuse_new_imports or policy.refuse_new_calls):
        try:
            new_tree = ast.parse(after)
        except (SyntaxError, ValueError):
            return None  # the compile check refuses it with the parser's message
        try:
            old_tree: ast.AST | None = ast.parse(before)
        except (SyntaxError, ValueError):
            old_tree = None
        if policy.refuse_new_imports:
            old_imports = _imports(old_tree) if old_tree is not None else imported_modules(before)
            new = _imports(new_tree) - old_imports
            unknown = sorted(
                n for n in new if n == "<dynamic>" or (n not in STDLIB and n not in context.known_modules)
            )
            if unknown:
                return f"imports {len(unknown)} module(s) that are not dependencies of the repository"
        if policy.refuse_new_calls:
            old_calls = _risky_calls(old_tree) if old_tree is not None else Counter()
            more = _risky_calls(new_tree) - old_calls
            if more:
                return "adds process, eval or network calls: " + ", ".join(sorted(more))[:200]
    elif policy.refuse_new_calls and Counter(_JS_CALLS.findall(after)) - Counter(_JS_CALLS.findall(before)):
        return "adds process, eval or network calls"
    if policy.refuse_log_echo and context.log_words:
        copied = {
            w
            for w in words(added) & context.log_words
            if w not in context.shown_words and w not in _COMMON_WORDS
        } - words(before)
        if copied:
            return f"adds {len(copied)} word(s) copied from the log that the source does not contain"
    return None


def repo_modules(paths: Sequence[str], manifests: Iterable[str], sources: Iterable[str]) -> frozenset[str]:
    """Modules a repository already depends on: its own top-level packages and modules, the names in its
    dependency manifests (``-`` read as ``_``), and every module its Python files import."""
    known: set[str] = set()
    for path in paths:
        first = path.split("/")[0]
        known.add(first.removesuffix(".py"))
        if path.startswith("src/") and path.count("/") >= 1:
            known.add(path.split("/")[1].removesuffix(".py"))
    for text in manifests:
        for name in re.findall(r"(?m)^[\s\"']*([A-Za-z][A-Za-z0-9_.\-]*)\s*(?:[<>=!~;\[\"',]|$)", text):
            known.add(name.lower().replace("-", "_").replace(".", "_"))
            known.add(name)
    for source in sources:
        known |= imported_modules(source)
    return frozenset(known)
