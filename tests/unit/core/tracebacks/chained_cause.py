"""A chained exception: a KeyError re-raised as an application error with ``from``.

EXPECT type=OrderError function=load_order category=internal_error
"""


class OrderError(Exception):
    pass


def load_order(orders: dict[int, str], order_id: int) -> str:
    try:
        return orders[order_id]
    except KeyError as exc:
        raise OrderError(f"order {order_id} not found") from exc  # RAISE-SITE


load_order({1: "one"}, 42)
