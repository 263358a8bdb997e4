from __future__ import annotations

import logging
from pathlib import Path

import pytest

from streamfix.errors import FixError
from streamfix.fixing.gitops import GitAuth, GitOps
from tests.unit.fixing.helpers import SampleRepo, git

TOKEN = "ghp_" + "S3cretTokenValue0123456789abcdefABCDEF"


def ops(sample: SampleRepo, tmp_path: Path) -> GitOps:
    return GitOps(tmp_path / "clone", str(sample.remote), "main", token=TOKEN)


def test_clone_branch_commit_push_is_deterministic(
    sample_repo: SampleRepo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    g = ops(sample_repo, tmp_path)
    g.sync()
    assert "shop/pricing.py" in g.files()
    g.start_branch("auto-fix/internal_error/abc")
    (g.root / "shop/pricing.py").write_text("X = 1\n")
    sha = g.commit(["shop/pricing.py"], "fix: x\n", when=1_764_300_000)
    assert g.push("auto-fix/internal_error/abc", sha) is True
    assert git(sample_repo.remote, "rev-parse", "refs/heads/auto-fix/internal_error/abc") == sha
    g.restore()
    # the same change on a fresh clone gives the same commit, and the push is a no-op
    g2 = GitOps(tmp_path / "clone2", str(sample_repo.remote), "main", token=TOKEN)
    g2.sync()
    g2.start_branch("auto-fix/internal_error/abc")
    (g2.root / "shop/pricing.py").write_text("X = 1\n")
    assert g2.commit(["shop/pricing.py"], "fix: x\n", when=1_764_300_000) == sha
    assert g2.push("auto-fix/internal_error/abc", sha) is False
    assert TOKEN not in g.config_text()
    assert TOKEN not in g2.config_text()
    assert TOKEN not in caplog.text
    assert git(sample_repo.remote, "log", "-1", "--format=%an <%ae>", sha) == (
        "streamfix <streamfix@users.noreply.github.com>"
    )


def test_askpass_answers_username_and_token() -> None:
    import subprocess

    env = GitAuth(TOKEN).env()
    script = env["GIT_ASKPASS"]
    user = subprocess.run(
        [script, "Username for 'https://github.com': "], env=env, capture_output=True, text=True
    )
    password = subprocess.run(
        [script, "Password for 'https://x@github.com': "], env=env, capture_output=True, text=True
    )
    assert user.stdout.strip() == "x-access-token"
    assert password.stdout.strip() == TOKEN
    assert TOKEN not in Path(script).read_text()


def test_git_errors_are_translated_without_the_token(tmp_path: Path) -> None:
    g = GitOps(
        tmp_path / "clone", f"https://x-access-token:{TOKEN}@127.0.0.1:1/none.git", "main", token=TOKEN
    )
    with pytest.raises(FixError) as info:
        g.sync()
    assert TOKEN not in str(info.value)


def test_token_push_over_https_auth_without_storing_the_token(
    sample_repo: SampleRepo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.unit.fixing.git_http import GitHttpServer

    caplog.set_level(logging.DEBUG)
    server = GitHttpServer(sample_repo.remote.parent, TOKEN).start()
    try:
        url = server.url(sample_repo.remote.name)
        g = GitOps(tmp_path / "clone-http", url, "main", token=TOKEN)
        g.sync()
        g.start_branch("auto-fix/internal_error/http")
        (g.root / "shop/pricing.py").write_text("X = 2\n")
        sha = g.commit(["shop/pricing.py"], "fix: y\n", when=1_764_300_000)
        assert g.push("auto-fix/internal_error/http", sha) is True
        assert git(sample_repo.remote, "rev-parse", "refs/heads/auto-fix/internal_error/http") == sha
        assert server.auth_headers  # the server asked, and the token answered through GIT_ASKPASS
        config = g.config_text()
        assert TOKEN not in config
        assert "extraheader" not in config.lower()
        assert f"url = {url}\n" in config
        assert TOKEN not in caplog.text
        # without the token, the same remote refuses
        with pytest.raises(FixError, match="git clone failed"):
            GitOps(tmp_path / "clone-anon", url, "main").sync()
    finally:
        server.stop()


def test_cached_clone_follows_a_changed_repo_url(sample_repo: SampleRepo, tmp_path: Path) -> None:
    other = tmp_path / "other.git"
    git(tmp_path, "clone", "-q", "--bare", str(sample_repo.remote), str(other))
    git(sample_repo.work, "commit", "-q", "--allow-empty", "-m", "only in the first remote")
    git(sample_repo.work, "push", "-q", "origin", "main")
    GitOps(tmp_path / "clone", str(other), "main").sync()
    moved = GitOps(tmp_path / "clone", str(sample_repo.remote), "main")
    moved.sync()
    assert git(moved.root, "log", "-1", "--format=%s") == "only in the first remote"
