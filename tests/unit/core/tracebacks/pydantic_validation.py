"""pydantic ValidationError (multi-line message) from model validation.

EXPECT type=pydantic_core._pydantic_core.ValidationError function=parse_signup category=validation_error
REQUIRES pydantic
"""

from pydantic import BaseModel


class Signup(BaseModel):
    email: str
    age: int


def parse_signup(payload: dict[str, object]) -> Signup:
    return Signup.model_validate(payload)  # RAISE-SITE


parse_signup({"email": "a@example.com", "age": "old"})
