"""A KeyError in application code.

EXPECT type=KeyError function=price_of category=internal_error
"""

PRICES = {"apple": 3}


def price_of(item: str) -> int:
    return PRICES[item]  # RAISE-SITE


def checkout(items: list[str]) -> int:
    return sum(price_of(item) for item in items)


checkout(["apple", "pear"])
