// An uncaught Java exception with a cause: "Exception in thread", "at" frames, "Caused by:", "... N more".
// EXPECT type=java.lang.IllegalStateException function=Orders.checkout file=java_illegal_state.java
// REQUIRES-BINARY java

import java.util.List;

class Orders {
    static int total(List<Integer> prices) {
        return prices.get(3);
    }

    static int checkout(List<Integer> prices) {
        try {
            return total(prices);
        } catch (IndexOutOfBoundsException e) {
            throw new IllegalStateException("cart is missing items", e); // RAISE-SITE
        }
    }

    public static void main(String[] args) {
        checkout(List.of(1, 2));
    }
}
