using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Api;
using ChittyConnect.Storage;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>One check of Test-ChittyConnection.</summary>
public sealed class ChittyConnectionTest
{
    public string Check { get; set; } = string.Empty;
    public string Target { get; set; } = string.Empty;
    public string Status { get; set; } = "Skipped";
    public string Detail { get; set; } = string.Empty;
    public long Milliseconds { get; set; }

    /// <summary>True when the check passed.</summary>
    public bool Passed => Status == "Passed";
}

/// <summary>Checks that the endpoint answers, the API key is valid, the session exists and the R2 bucket is reachable.</summary>
[Cmdlet(VerbsDiagnostic.Test, "ChittyConnection")]
[OutputType(typeof(ChittyConnectionTest))]
[OutputType(typeof(bool))]
public sealed class TestChittyConnectionCommand : ChittyCmdletBase
{
    /// <summary>Returns only $true when every check passed, else $false.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var connection = ResolveConnection();
        var results = new List<ChittyConnectionTest>();
        TryRun(async ct =>
        {
            var endpoint = new ChittyConnectionTest { Check = "Endpoint", Target = connection.Endpoint.ToString() };
            var apiKey = new ChittyConnectionTest { Check = "ApiKey", Target = connection.ChittyId };
            var watch = Stopwatch.StartNew();
            try
            {
                var whoami = await connection.Api.WhoAmIAsync(ct).ConfigureAwait(false);
                Pass(endpoint, "answers", watch);
                // whoami answers for the key's own session, which need not be the one this connection sends to:
                // say so, or Get-ChittyWhoAmI's active files look lost.
                var elsewhere = connection.SessionId is { } mine && whoami.SessionId is { } keys && mine != keys
                    ? $" (this connection sends to '{mine}'; Get-ChittyWhoAmI shows the key's session's active files)"
                    : string.Empty;
                Pass(apiKey, $"valid for {whoami.ChittyId ?? connection.ChittyId}, the key's session {whoami.SessionId}{elsewhere}", watch);
            }
            catch (ChittyApiException ex) when (ex.Kind is ChittyErrorKind.Network or ChittyErrorKind.Timeout or ChittyErrorKind.InvalidResponse)
            {
                Fail(endpoint, ex.Message, watch);
                apiKey.Detail = "not checked: the endpoint did not answer";
            }
            catch (ChittyApiException ex)
            {
                Pass(endpoint, $"answers ({ex.StatusCode})", watch);
                Fail(apiKey, ex.Message, watch);
            }

            results.Add(endpoint);
            results.Add(apiKey);
            var session = new ChittyConnectionTest { Check = "Session", Target = connection.SessionId ?? "(none)" };
            if (connection.SessionId is null)
            {
                session.Detail = "no default session (Connect-Chitty -SessionId)";
            }
            else if (apiKey.Passed)
            {
                watch.Restart();
                try
                {
                    var found = await connection.Api.GetSessionAsync(connection.SessionId, ct).ConfigureAwait(false);
                    Pass(session, found.Expires is { } expires ? $"expires {expires.ToLocalTime():g}" : "exists", watch);
                }
                catch (ChittyApiException ex) when (ex.Kind == ChittyErrorKind.NotFound)
                {
                    // The service loses sessions when its session store restarts; creating one again is harmless.
                    Fail(session, $"the service does not know session '{connection.SessionId}' (it loses sessions when its session store restarts). Re-create it: New-ChittySession -SessionId '{connection.SessionId}'", watch);
                }
                catch (ChittyApiException ex)
                {
                    Fail(session, ex.Message, watch);
                }
            }
            else
            {
                session.Detail = "not checked: the API key failed";
            }

            results.Add(session);
            results.Add(await R2CheckAsync(connection, ct).ConfigureAwait(false));
        }, connection.Endpoint, terminating: true);

        if (Quiet)
        {
            WriteObject(results.All(r => r.Status != "Failed"));
            return;
        }

        WriteObject(results, enumerateCollection: true);
    }

    private static async Task<ChittyConnectionTest> R2CheckAsync(ChittyConnection connection, CancellationToken cancellationToken)
    {
        var result = new ChittyConnectionTest { Check = "R2", Target = connection.Bucket ?? "(none)" };
        if (!connection.HasR2)
        {
            result.Detail = "no R2 settings (Connect-Chitty -R2Endpoint/-AccountId -Bucket -R2Credential)";
            return result;
        }

        result.Target = $"{connection.Bucket} at {connection.R2Endpoint}";
        var watch = Stopwatch.StartNew();
        try
        {
            using var store = Internal.StoreTransports.Open(connection, new R2StoreOptions { MaxRetries = 1, IdleTimeout = connection.RequestTimeout, RetryTimeout = TimeSpan.Zero });
            await store.ProbeAsync(cancellationToken).ConfigureAwait(false);
            Pass(result, "bucket reachable, listing allowed", watch);
        }
        catch (ObjectStoreException ex)
        {
            Fail(result, ex.Message, watch);
        }

        return result;
    }

    private static void Pass(ChittyConnectionTest test, string detail, Stopwatch watch)
    {
        test.Status = "Passed";
        test.Detail = detail;
        test.Milliseconds = watch.ElapsedMilliseconds;
    }

    private static void Fail(ChittyConnectionTest test, string detail, Stopwatch watch)
    {
        test.Status = "Failed";
        test.Detail = detail;
        test.Milliseconds = watch.ElapsedMilliseconds;
    }
}
