using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Management.Automation;
using System.Text.Json;
using System.Threading;
using ChittyConnect.Events;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Writes ChittyConnect's live events (uploads, syncs, active-file changes, commits) to the pipeline as they arrive.</para>
/// <para type="description">Opens the service's server-sent event stream and writes one ChittyEvent per event of the
/// session, reconnecting whenever the service ends or drops the stream (shown with -Verbose). The stream's own
/// connected and heartbeat events are shown with -Verbose and written only with -IncludeStreamEvents. It runs until
/// -First objects were written, -Timeout passed (with fewer than -First: error ChittyWatchTimeout), or Ctrl+C.</para>
/// </summary>
[Cmdlet(VerbsCommon.Watch, "ChittyEvents")]
[OutputType(typeof(ChittyEvent))]
public sealed class WatchChittyEventsCommand : ChittyCmdletBase
{
    // The longest delay a CancellationTokenSource takes (int.MaxValue milliseconds, about 24.8 days).
    private static readonly TimeSpan s_maxTimeout = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    /// <summary>
    /// <para type="description">The session whose events to write; the connection's session by default.</para>
    /// </summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId]
    public string? SessionId { get; set; }

    /// <summary>
    /// <para type="description">Writes the events of every session: the service sends them all to every stream.</para>
    /// </summary>
    [Parameter]
    public SwitchParameter AllSessions { get; set; }

    /// <summary>
    /// <para type="description">Event types to write, wildcards allowed (context.files.*); all types by default.</para>
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Type { get; set; }

    /// <summary>
    /// <para type="description">Ends after writing exactly this many objects.</para>
    /// </summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; }

    /// <summary>
    /// <para type="description">Ends after this long; an error (ChittyWatchTimeout) when -First objects were not all written by then. A number is taken as seconds.</para>
    /// </summary>
    [Parameter]
    [SecondsToTimeSpan]
    public TimeSpan Timeout { get; set; }

    /// <summary>
    /// <para type="description">Writes the stream's own events too (connected, once, and heartbeat), whatever -Type says.</para>
    /// </summary>
    [Parameter]
    [Alias("IncludeHeartbeat")]
    public SwitchParameter IncludeStreamEvents { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) && (Timeout <= TimeSpan.Zero || Timeout > s_maxTimeout))
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentOutOfRangeException(nameof(Timeout), Timeout, $"The timeout must be positive and at most {s_maxTimeout.TotalDays:0} days; leave it out to watch until Ctrl+C."),
                "ChittyInvalidArgument",
                ErrorCategory.InvalidArgument,
                Timeout));
        }
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var connection = ResolveConnection();
        var sessionId = AllSessions.IsPresent
            ? (string.IsNullOrWhiteSpace(SessionId) ? connection.SessionId : SessionId)
            : ResolveSessionId(SessionId, connection);
        var options = new ChittyEventStreamOptions
        {
            SessionId = sessionId,
            AllSessions = AllSessions.IsPresent,
            TypePatterns = Type,
            IncludeTransportEvents = IncludeStreamEvents.IsPresent,
            Verbose = message => Post(() => WriteVerbose(message)),
            Warning = message => Post(() => WriteWarning(message)),
        };
        var stream = new ChittyEventStream(connection.Endpoint, options);
        var first = First;
        var timeout = MyInvocation.BoundParameters.ContainsKey(nameof(Timeout)) ? Timeout : (TimeSpan?)null;
        TryRun(
            async stopToken =>
            {
                using var watch = CancellationTokenSource.CreateLinkedTokenSource(stopToken);
                if (timeout is { } limit)
                {
                    watch.CancelAfter(limit);
                }

                var written = 0;
                await stream.RunAsync(
                    chittyEvent =>
                    {
                        // Every object written counts: -First 3 writes exactly three.
                        if (first > 0 && written >= first)
                        {
                            return;
                        }

                        chittyEvent.Data = ToPSObject(chittyEvent.Json)!;
                        PostObject(chittyEvent);
                        if (first > 0 && ++written >= first)
                        {
                            watch.Cancel();
                        }
                    },
                    watch.Token).ConfigureAwait(false);

                if (!stopToken.IsCancellationRequested && timeout is { } reached && first > 0 && written < first)
                {
                    // A script must be able to tell a watch cut short from one that got what it asked for.
                    var message = string.Format(CultureInfo.InvariantCulture, "The watch ended after {0} with {1} of the {2} events asked for (-First).", reached, written, first);
                    Post(() => WriteError(ChittyErrors.ToErrorRecord(new TimeoutException(message), stream.RequestUri, ChittyErrors.WatchTimeoutId)));
                }
                else if (!stopToken.IsCancellationRequested && timeout is { } ended && first == 0)
                {
                    Post(() => WriteVerbose(string.Format(CultureInfo.InvariantCulture, "The watch ended after {0}.", ended)));
                }
            },
            stream.RequestUri,
            terminating: true);
    }

    /// <summary>
    /// The JSON payload as PowerShell objects, the way ConvertFrom-Json builds them (objects become PSCustomObjects
    /// with their properties in order, integers Int64, other numbers Double), except that strings stay strings.
    /// </summary>
    internal static object? ToPSObject(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var result = new PSObject();
                foreach (var property in element.EnumerateObject())
                {
                    // A duplicate name keeps the last value, as JavaScript's JSON.parse does.
                    result.Properties.Remove(property.Name);
                    result.Properties.Add(new PSNoteProperty(property.Name, ToPSObject(property.Value)));
                }

                return result;
            case JsonValueKind.Array:
                var items = new List<object?>();
                foreach (var item in element.EnumerateArray())
                {
                    items.Add(ToPSObject(item));
                }

                return items.ToArray();
            case JsonValueKind.String:
                return element.GetString();
            case JsonValueKind.Number:
                return element.TryGetInt64(out var integer) ? integer : (object)element.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }
}

// PowerShell turns a bare number into a TimeSpan of that many ticks; a watch timeout in ticks is never meant.
internal sealed class SecondsToTimeSpanAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        return value switch
        {
            int or long or short or byte or uint or ulong or ushort or sbyte => TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            double or float or decimal => TimeSpan.FromSeconds(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
            // '30' is seconds too (TimeSpan's own parser would read it as 30 days); '00:00:30' stays a TimeSpan.
            string text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) => TimeSpan.FromSeconds(seconds),
            _ => inputData,
        };
    }
}
