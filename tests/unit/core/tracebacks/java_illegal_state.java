// An uncaught Java exception with a cause: "Exception in thread", "at" frames, "Caused by:", "... N more".
// The root cause (the deepest "Caused by:") is the reported error; the outer one is kept as chained.
// EXPECT type=java.lang.IndexOutOfBoundsException function=Orders.total file=java_illegal_state.java category=internal_error
// REQUIRES-BINARY java

import java.util.List;

class Orders {
    static int total(List<Integer> prices) {
        return prices.get(3); // RAISE-SITE
    }

    static int checkout(List<Integer> prices) {
        try {
            return total(prices);
        } catch (IndexOutOfBoundsException e) {
            throw new IllegalStateException("cart is missing items", e);
        }
    }

    public static void main(String[] args) {
        checkout(List.of(1, 2));
    }
}
