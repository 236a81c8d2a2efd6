using System;
using System.Collections.Generic;
using System.Globalization;
using System.Management.Automation;
using ChittyConnect.Api;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Reports synced objects to ChittyConnect so it indexes them; items come from the pipeline.</summary>
[Cmdlet(VerbsCommunications.Send, "ChittySyncReport", SupportsShouldProcess = true)]
[OutputType(typeof(SyncReportResult))]
public sealed class SendChittySyncReportCommand : ChittyCmdletBase
{
    /// <summary>Source name the service uses when none is given.</summary>
    public const string DefaultSource = "chittyconnect-powershell";

    private readonly List<SyncReportItem> _items = new();

    /// <summary>The prefix that was synced, e.g. files/my-desktop-session.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string PathPrefix { get; set; } = string.Empty;

    /// <summary>What did the sync (default chittyconnect-powershell; the guide's scripts say rclone).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Source { get; set; } = DefaultSource;

    /// <summary>Items: objects with R2Key (or Key, or Uri), and optionally Sha256, Size, Modified.</summary>
    [Parameter(ValueFromPipeline = true)]
    [ValidateNotNull]
    public PSObject? InputObject { get; set; }

    /// <summary>Items per request (large reports go in several).</summary>
    [Parameter]
    [ValidateRange(1, 10000)]
    public int BatchSize { get; set; } = ChittyApiClient.DefaultReportBatchSize;

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (InputObject is null)
        {
            return;
        }

        var item = ToItem(InputObject);
        if (item.R2Key is null && item.Uri is null)
        {
            WriteError(ErrorFor(new ArgumentException($"The item has no R2Key, Key or Uri property: {InputObject}"), InputObject, "ChittySyncReportItemWithoutKey"));
            return;
        }

        _items.Add(item);
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var connection = ResolveConnection();
        if (!ShouldProcess($"{_items.Count} item(s) under '{PathPrefix}'", "Send sync report"))
        {
            return;
        }

        TryRun(async ct =>
        {
            var result = await connection.Api.SendSyncReportAsync(PathPrefix, Source, _items, ct, BatchSize,
                sent => PostProgress(new ProgressRecord(1, "Sending sync report", $"{sent} of {_items.Count} items")
                {
                    PercentComplete = _items.Count == 0 ? 100 : sent * 100 / _items.Count,
                })).ConfigureAwait(false);
            PostProgress(new ProgressRecord(1, "Sending sync report", "Done") { RecordType = ProgressRecordType.Completed });
            PostObject(result);
        }, PathPrefix, terminating: true);
    }

    private static SyncReportItem ToItem(PSObject input)
    {
        if (input.BaseObject is ChittyFile file)
        {
            return new SyncReportItem { R2Key = file.R2Key, Sha256 = file.Sha256, Size = file.Size };
        }

        object? Get(params string[] names)
        {
            foreach (var name in names)
            {
                var value = input.Properties[name]?.Value;
                if (value is PSObject ps)
                {
                    value = ps.BaseObject;
                }

                if (value is not null && !(value is string s && s.Length == 0))
                {
                    return value;
                }
            }

            return null;
        }

        if (input.BaseObject is string key)
        {
            return key.StartsWith("r2://", StringComparison.Ordinal) || key.Contains("://")
                ? new SyncReportItem { Uri = key }
                : new SyncReportItem { R2Key = key };
        }

        var modified = Get("Modified", "LastModified", "LastWriteTimeUtc", "LastWriteTime");
        return new SyncReportItem
        {
            R2Key = Get("R2Key", "r2_key", "Key")?.ToString(),
            Uri = Get("Uri", "uri")?.ToString(),
            Sha256 = Get("Sha256", "sha256")?.ToString(),
            Size = Get("Size", "size", "Length") is { } size ? Convert.ToInt64(size, CultureInfo.InvariantCulture) : null,
            Modified = modified switch
            {
                DateTimeOffset dto => dto,
                DateTime dt => new DateTimeOffset(dt.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(dt, DateTimeKind.Utc) : dt),
                string text when DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed) => parsed,
                _ => null,
            },
        };
    }
}
