"""The edit allowlist and the content policy (pure)."""

from __future__ import annotations

import pytest

from streamfix.core.editpolicy import EditContext, EditPolicy, check_content, check_path, repo_modules

CONTEXT = EditContext(
    frame_files=frozenset({"shop/pricing.py"}),
    known_modules=frozenset({"shop", "requests_cache_local"}),
    log_words=frozenset({"INJ07xmarker", "average_order_value", "ignore_previous"}),
    shown_words=frozenset({"average_order_value"}),
)
BEFORE = "import json\n\n\ndef average_order_value(orders):\n    return sum(orders) / len(orders)\n"


@pytest.mark.parametrize(
    ("path", "policy", "refused"),
    [
        pytest.param("shop/pricing.py", EditPolicy(), None, id="frame-file"),
        pytest.param("shop/reports.py", EditPolicy(), "stack frames", id="other-source"),
        pytest.param("shop/reports.py", EditPolicy(scope="repo"), None, id="other-source-repo-scope"),
        pytest.param("shop/reports.py", EditPolicy(extra_allowed=("shop/*.py",)), None, id="extra-glob"),
        pytest.param(".github/workflows/ci.yml", EditPolicy(scope="repo"), "sensitive", id="ci"),
        pytest.param(".github/actions/x/action.yml", EditPolicy(scope="repo"), "sensitive", id="actions"),
        pytest.param("Makefile", EditPolicy(scope="repo"), "sensitive", id="makefile"),
        pytest.param("pyproject.toml", EditPolicy(scope="repo"), "sensitive", id="manifest"),
        pytest.param("web/package-lock.json", EditPolicy(scope="repo"), "sensitive", id="lockfile"),
        pytest.param("CODEOWNERS", EditPolicy(scope="repo"), "sensitive", id="codeowners"),
        pytest.param(".gitattributes", EditPolicy(scope="repo"), "sensitive", id="gitattributes"),
        pytest.param("tests/test_pricing.py", EditPolicy(scope="repo"), "sensitive", id="tests"),
        pytest.param("deploy/run.sh", EditPolicy(scope="repo"), "sensitive", id="deploy"),
        pytest.param(
            "Makefile", EditPolicy(scope="repo", allow_sensitive=("Makefile",)), None, id="allowed-sensitive"
        ),
    ],
)
def test_paths(path: str, policy: EditPolicy, refused: str | None) -> None:
    why = check_path(path, policy, CONTEXT)
    assert (why is None) if refused is None else (why is not None and refused in why)


@pytest.mark.parametrize(
    ("after", "refused"),
    [
        pytest.param(
            BEFORE.replace("    return", "    if not orders:\n        return 0.0\n    return"),
            None,
            id="plain-guard",
        ),
        pytest.param(BEFORE.replace("return sum", "return sum\u202e"), "invisible", id="bidi"),
        pytest.param(BEFORE.replace("return sum", "return su\u200bm"), "invisible", id="zero-width"),
        pytest.param(BEFORE + "# see https://evil.example/x\n", "URL", id="url"),
        pytest.param(BEFORE + "HOST = '10.9.8.7'\n", "URL", id="ip"),
        pytest.param("import evilpkg\n" + BEFORE, "not dependencies", id="unknown-import"),
        pytest.param("import os\n" + BEFORE, None, id="stdlib-import"),
        pytest.param("import requests_cache_local\n" + BEFORE, None, id="repo-dependency"),
        pytest.param(BEFORE + "X = __import__('os')\n", "not dependencies", id="dynamic-import"),
        pytest.param(BEFORE + "eval('1')\n", "eval", id="eval"),
        pytest.param(
            "import subprocess\n" + BEFORE + "subprocess.run(['id'])\n", "subprocess.run", id="process"
        ),
        pytest.param(
            "import socket\n" + BEFORE + "socket.create_connection(('a', 1))\n", "network", id="socket"
        ),
        pytest.param(BEFORE + "# INJ07xmarker\n", "copied from the log", id="log-echo"),
        pytest.param(BEFORE.replace("orders)\n", "orders)  # average_order_value\n"), None, id="shown-word"),
    ],
)
def test_content(after: str, refused: str | None) -> None:
    why = check_content("shop/pricing.py", BEFORE, after, EditPolicy(), CONTEXT)
    assert (why is None) if refused is None else (why is not None and refused in why), why


def test_content_checks_can_be_turned_off() -> None:
    policy = EditPolicy(
        refuse_new_urls=False, refuse_new_imports=False, refuse_new_calls=False, refuse_log_echo=False
    )
    after = "import evilpkg\n" + BEFORE + "eval('https://evil.example')  # INJ07xmarker\n"
    assert check_content("shop/pricing.py", BEFORE, after, policy, CONTEXT) is None
    assert "invisible" in (
        check_content("shop/pricing.py", BEFORE, BEFORE + "#\u2066\n", policy, CONTEXT) or ""
    )


def test_repo_modules_reads_manifests_packages_and_imports() -> None:
    known = repo_modules(
        ["shop/pricing.py", "src/billing/__init__.py", "app.py"],
        ['[project]\ndependencies = [\n  "PyYAML>=6",\n  "python-dateutil",\n]\n'],
        ["from sqlalchemy.orm import Session\nimport numpy as np\n"],
    )
    assert {"shop", "billing", "app", "pyyaml", "python_dateutil", "sqlalchemy", "numpy"} <= known
