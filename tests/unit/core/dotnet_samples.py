# ruff: noqa: E501  (sample output lines are kept whole)
""".NET (Core) unhandled-exception output, WRITTEN BY HAND: no .NET SDK or runtime is packaged in Debian.

These are not genuine runs. They follow the format Microsoft documents and .NET 5+ prints for an
unhandled exception (``Unhandled exception. TYPE: MESSAGE``; an inner exception on its own line as
`` ---> TYPE: MESSAGE``; frames ``   at NS.Class.Method(ArgType name) in FILE:line N``, without
`` in ...`` when there is no PDB; ``   --- End of inner exception stack trace ---``; async state-machine
frames ``NS.Class.<Method>d__3.MoveNext()`` and ``--- End of stack trace from previous location ---``).
The genuine .NET output in the corpus is Mono's, from the ``dotnet_*.cs`` programs in ``tracebacks/``
(compiled with ``mcs -debug`` and run with ``mono --debug``), plus the Mono-shaped samples below that
cover what those programs cannot produce (a release build without line numbers, a lost first part).

Each sample: (id, text, (type, file, line, function, category), chained types outermost first).
"""

from __future__ import annotations

SAMPLES: list[tuple[str, str, tuple[str, str | None, int | None, str | None, str], tuple[str, ...]]] = [
    (
        "dotnet-core-inner-format",
        """Unhandled exception. System.InvalidOperationException: bad order payload
 ---> System.FormatException: The input string 'twelve' was not in a correct format.
   at System.Number.ThrowFormatException[TChar](ReadOnlySpan`1 value)
   at System.Int32.Parse(String s)
   at Orders.OrderParser.Quantity(String raw) in /src/Orders/OrderParser.cs:line 14
   at Orders.OrderParser.Handle(String raw) in /src/Orders/OrderParser.cs:line 21
   --- End of inner exception stack trace ---
   at Orders.OrderParser.Handle(String raw) in /src/Orders/OrderParser.cs:line 25
   at Orders.OrderParser.Main() in /src/Orders/OrderParser.cs:line 31""",
        ("System.FormatException", "/src/Orders/OrderParser.cs", 14, "Orders.OrderParser.Quantity", "validation_error"),
        ("System.InvalidOperationException",),
    ),
    (
        "dotnet-core-async-http",
        """Unhandled exception. System.Net.Http.HttpRequestException: Connection refused (inventory:8080)
 ---> System.Net.Sockets.SocketException (111): Connection refused
   at System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.ThrowException(SocketError error, CancellationToken cancellationToken)
   at System.Net.Http.HttpConnectionPool.ConnectToTcpHostAsync(String host, Int32 port, HttpRequestMessage initialRequest, Boolean async, CancellationToken cancellationToken)
   --- End of inner exception stack trace ---
   at System.Net.Http.HttpConnectionPool.ConnectToTcpHostAsync(String host, Int32 port, HttpRequestMessage initialRequest, Boolean async, CancellationToken cancellationToken)
   at System.Net.Http.HttpClient.<SendAsync>g__Core|83_0(HttpRequestMessage request, HttpCompletionOption completionOption, CancellationTokenSource cts, Boolean disposeCts, CancellationTokenSource pendingRequestsCts, CancellationToken originalCancellationToken)
   at Shop.Inventory.Client.<GetStockAsync>d__4.MoveNext() in /app/Inventory/Client.cs:line 42
--- End of stack trace from previous location ---
   at Shop.Program.<Main>d__0.MoveNext() in /app/Program.cs:line 12
   at Shop.Program.<Main>(String[] args)""",
        # The inner SocketException's frames are all framework code: reported at the innermost one.
        ("System.Net.Sockets.SocketException", None, None,
         "System.Net.Sockets.Socket.AwaitableSocketAsyncEventArgs.ThrowException", "external_service_error"),
        ("System.Net.Http.HttpRequestException",),
    ),
    (
        "dotnet-core-async-timeout",
        """Unhandled exception. System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing.
   at System.Net.Http.HttpClient.HandleFailure(Exception e, Boolean telemetryStarted, HttpResponseMessage response, CancellationTokenSource cts, CancellationToken cancellationToken, CancellationTokenSource pendingRequestsCts)
   at Shop.Inventory.Client.<GetStockAsync>d__4.MoveNext() in /app/Inventory/Client.cs:line 42
--- End of stack trace from previous location ---
   at Shop.Program.<Main>d__0.MoveNext() in /app/Program.cs:line 12""",
        ("System.Threading.Tasks.TaskCanceledException", "/app/Inventory/Client.cs", 42,
         "Shop.Inventory.Client.GetStockAsync", "timeout_error"),
        (),
    ),
    (
        "dotnet-core-sql-release-build",
        """Unhandled exception. Npgsql.PostgresException (0x80004005): 23505: duplicate key value violates unique constraint "users_email_key"
   at Npgsql.Internal.NpgsqlConnector.ReadMessageLong(Boolean async, DataRowLoadingMode dataRowLoadingMode, Boolean readingNotifications, Boolean isReadingPrependedMessage)
   at Npgsql.NpgsqlDataReader.NextResult(Boolean async, Boolean isConsuming, CancellationToken cancellationToken)
   at Accounts.UserStore.Insert(String email)
   at Accounts.Program.Main(String[] args)""",
        # A release build without PDBs: no file or line, the application's innermost function still named.
        ("Npgsql.PostgresException", None, None, "Accounts.UserStore.Insert", "database_error"),
        (),
    ),
    (
        "dotnet-core-unauthorized",
        """Unhandled exception. System.UnauthorizedAccessException: Access to the path '/data/keys/signing.pem' is denied.
   at Microsoft.Win32.SafeHandles.SafeFileHandle.Init(String path, FileMode mode, FileAccess access, FileShare share, FileOptions options, Int64 preallocationSize)
   at System.IO.File.ReadAllText(String path)
   at Auth.KeyStore.Load(String path) in /app/Auth/KeyStore.cs:line 18
   at Auth.Program.Main(String[] args) in /app/Program.cs:line 7""",
        ("System.UnauthorizedAccessException", "/app/Auth/KeyStore.cs", 18, "Auth.KeyStore.Load", "auth_error"),
        (),
    ),
    (
        "dotnet-core-inner-never-thrown",
        """Unhandled exception. System.InvalidOperationException: The configuration is invalid.
 ---> System.ArgumentException: Missing 'InventoryUrl'. (Parameter 'settings')
   --- End of inner exception stack trace ---
   at Shop.Config.Validate(Settings settings) in /app/Config.cs:line 23
   at Shop.Program.Main(String[] args) in /app/Program.cs:line 9""",
        # An inner exception created but never thrown has no frames: the outer exception's frames say where.
        ("System.ArgumentException", "/app/Config.cs", 23, "Shop.Config.Validate", "validation_error"),
        ("System.InvalidOperationException",),
    ),
    (
        "dotnet-core-logged-without-header",
        """System.Collections.Generic.KeyNotFoundException: The given key 'eur' was not present in the dictionary.
   at System.Collections.Generic.Dictionary`2.get_Item(TKey key)
   at Shop.Rates.Convert(String currency) in /app/Rates.cs:line 31
   at Shop.Checkout.Total(Cart cart) in /app/Checkout.cs:line 12""",
        # A caught exception written to stderr by the application (ex.ToString()): no "Unhandled" header.
        ("System.Collections.Generic.KeyNotFoundException", "/app/Rates.cs", 31, "Shop.Rates.Convert", "internal_error"),
        (),
    ),
    (
        "mono-release-build",
        """Unhandled Exception:
System.ArgumentNullException: Value cannot be null.
Parameter name: key
  at System.Collections.Generic.Dictionary`2[TKey,TValue].FindEntry (TKey key) [0x00008] in <12b418a7818c4ca0893feeaaf67f1e7f>:0
  at Shop.PriceList.Lookup (System.String sku) [0x00001] in <5c1f2d9e0a3b4f6d8e7c9b0a1d2e3f4a>:0
  at Shop.Program.Main () <0x41e2c3d0 + 0x0002b>
[ERROR] FATAL UNHANDLED EXCEPTION: System.ArgumentNullException: Value cannot be null.
Parameter name: key
  at System.Collections.Generic.Dictionary`2[TKey,TValue].FindEntry (TKey key) [0x00008] in <12b418a7818c4ca0893feeaaf67f1e7f>:0
  at Shop.PriceList.Lookup (System.String sku) [0x00001] in <5c1f2d9e0a3b4f6d8e7c9b0a1d2e3f4a>:0
  at Shop.Program.Main () <0x41e2c3d0 + 0x0002b>""",
        ("System.ArgumentNullException", None, None, "Shop.PriceList.Lookup", "validation_error"),
        (),
    ),
    (
        "mono-repeat-only",
        """[ERROR] FATAL UNHANDLED EXCEPTION: System.Collections.Generic.KeyNotFoundException: The given key 'eur' was not present in the dictionary.
  at System.Collections.Generic.Dictionary`2[TKey,TValue].get_Item (TKey key) [0x0001e] in <12b418a7818c4ca0893feeaaf67f1e7f>:0
  at Shop.Rates.Convert (System.String currency) [0x00007] in /src/Shop/Rates.cs:31""",
        ("System.Collections.Generic.KeyNotFoundException", "/src/Shop/Rates.cs", 31, "Shop.Rates.Convert", "internal_error"),
        (),
    ),
]
