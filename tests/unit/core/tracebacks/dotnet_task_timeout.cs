// A TimeoutException thrown inside a Task and observed with Wait(): an AggregateException wraps it.
// EXPECT type=System.TimeoutException function=Jobs.Fetcher.Fetch category=timeout_error
// REQUIRES-BINARY mcs
using System;
using System.Threading.Tasks;

namespace Jobs
{
    public static class Fetcher
    {
        public static string Fetch(string url)
        {
            throw new TimeoutException("no answer from " + url + " within 30 s"); // RAISE-SITE
        }

        public static void Main()
        {
            Task<string> task = Task.Run(() => Fetch("http://inventory.internal/items"));
            task.Wait();
        }
    }
}
