// An unhandled .NET exception, run by Mono (mcs -debug, mono --debug): frames carry "in FILE:LINE".
// EXPECT type=System.InvalidOperationException function=Shop.Cart.Checkout category=internal_error
// REQUIRES-BINARY mcs
using System;
using System.Collections.Generic;

namespace Shop
{
    public class Cart
    {
        private readonly List<decimal> items = new List<decimal>();

        public void Checkout(string customer)
        {
            if (items.Count > 0)
                return;
            throw new InvalidOperationException("cart of " + customer + " is empty"); // RAISE-SITE
        }
    }

    public static class Program
    {
        public static void Main()
        {
            new Cart().Checkout("ada");
        }
    }
}
