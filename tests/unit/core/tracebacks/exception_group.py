"""An ExceptionGroup (boxed traceback); the first leaf sub-exception is reported.

EXPECT type=ValueError function=check_price category=validation_error
"""


def check_price(price: int) -> None:
    if price < 0:
        raise ValueError(f"negative price {price}")  # RAISE-SITE


def check_all(prices: list[int]) -> None:
    errors: list[Exception] = []
    for price in prices:
        try:
            check_price(price)
        except ValueError as exc:
            errors.append(exc)
    errors.append(TypeError("bad currency"))
    raise ExceptionGroup("invalid prices", errors)


check_all([1, -2])
