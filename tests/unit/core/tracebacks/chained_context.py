"""An exception raised while handling another one ("During handling of the above exception").

EXPECT type=ZeroDivisionError function=average category=internal_error
"""


def parse(value: str) -> int:
    return int(value)


def average(values: list[str]) -> float:
    try:
        numbers = [parse(v) for v in values]
    except ValueError:
        numbers = [parse(v) for v in values if v.isdigit() and v != v]
        return sum(numbers) / len(numbers)  # RAISE-SITE
    return sum(numbers) / len(numbers)


average(["1", "x"])
