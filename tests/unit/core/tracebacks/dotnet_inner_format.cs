// A .NET exception wrapping another (int.Parse's FormatException): Mono prints the outer one, then
// "---> System.FormatException: ...", the inner frames and "--- End of inner exception stack trace ---".
// The inner (root) exception is reported, at its innermost application frame.
// EXPECT type=System.FormatException function=Orders.OrderParser.Quantity category=validation_error
// REQUIRES-BINARY mcs
using System;

namespace Orders
{
    public static class OrderParser
    {
        public static int Quantity(string raw)
        {
            return int.Parse(raw); // RAISE-SITE
        }

        public static int Handle(string raw)
        {
            try
            {
                return Quantity(raw);
            }
            catch (FormatException e)
            {
                throw new InvalidOperationException("bad order payload", e);
            }
        }

        public static void Main()
        {
            Handle("twelve");
        }
    }
}
