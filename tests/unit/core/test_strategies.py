"""Prompt strategies: known names only, a stable arm per pattern, one trusted instruction added."""

from __future__ import annotations

import pytest

from streamfix.core.strategies import STRATEGIES, apply_strategy, check, strategy_for
from streamfix.runtime.settings import Settings


def test_unknown_strategy_is_a_settings_error() -> None:
    with pytest.raises(ValueError, match="unknown prompt strategies"):
        Settings(fix_prompt_strategies="minimal,clever")
    assert Settings(fix_prompt_strategies="default,minimal").fix_prompt_strategies == ["default", "minimal"]
    assert check([]) == []


def test_arm_is_stable_spread_and_independent_of_the_model_arm() -> None:
    from streamfix.core.effectiveness import arm_for

    names = ["default", "minimal"]
    fps = [f"fp1:{i:04x}" for i in range(400)]
    arms = [strategy_for(fp, names) for fp in fps]
    assert arms == [strategy_for(fp, list(names)) for fp in fps]
    assert 150 < arms.count("minimal") < 250
    same = sum(strategy_for(fp, names) == arm_for(fp, ["default", "minimal"]) for fp in fps)
    assert 150 < same < 250  # not the model arm under another name
    assert strategy_for("fp1:x", []) == "default"


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_apply_strategy(name: str) -> None:
    prompt = "Find the root cause and call propose_fix."
    out = apply_strategy(prompt, name)
    assert out.startswith(prompt)
    assert out == prompt if name == "default" else out.endswith(STRATEGIES[name])
