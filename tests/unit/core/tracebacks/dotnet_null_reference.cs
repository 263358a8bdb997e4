// A NullReferenceException raised by the runtime (a field read through a null reference).
// EXPECT type=System.NullReferenceException function=Billing.Invoice.Total category=internal_error
// REQUIRES-BINARY mcs
using System;

namespace Billing
{
    public class Customer
    {
        public string Name = "";
        public decimal Discount;
    }

    public class Invoice
    {
        public Customer Customer;

        public decimal Total(decimal amount)
        {
            return amount - Customer.Discount; // RAISE-SITE
        }

        public static void Main()
        {
            Console.WriteLine(new Invoice().Total(10m));
        }
    }
}
