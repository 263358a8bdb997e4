from tests.unit.fixing.fixtures import fake_claude, fake_github, sample_repo

__all__ = ["fake_claude", "fake_github", "sample_repo"]
