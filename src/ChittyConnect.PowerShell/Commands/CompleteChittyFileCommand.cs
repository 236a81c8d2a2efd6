using System;
using System.Management.Automation;
using ChittyConnect.Api;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Tells ChittyConnect that uploaded files are committed (the service broadcasts context.files.committed).</summary>
[Cmdlet(VerbsLifecycle.Complete, "ChittyFile", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true)]
[OutputType(typeof(ChittyFile))]
public sealed class CompleteChittyFileCommand : ChittyCmdletBase
{
    private const string InputObjectSet = "InputObject";
    private const string KeySet = "R2Key";

    /// <summary>Files from Send-ChittyFile.</summary>
    [Parameter(ParameterSetName = InputObjectSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public ChittyFile? InputObject { get; set; }

    /// <summary>The object key, e.g. files/my-desktop-session/2026/01/04/abc-report.pdf.</summary>
    [Parameter(ParameterSetName = KeySet, Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? R2Key { get; set; }

    /// <summary>The SHA-256 of the content.</summary>
    [Parameter(ParameterSetName = KeySet, ValueFromPipelineByPropertyName = true)]
    [ValidatePattern("^[0-9a-fA-F]{64}$")]
    public string? Sha256 { get; set; }

    /// <summary>The size in bytes.</summary>
    [Parameter(ParameterSetName = KeySet, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    public long? Size { get; set; }

    /// <summary>The session (default: the file's, else the connection's).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId]
    public string? SessionId { get; set; }

    /// <summary>A task the commit belongs to.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? TaskId { get; set; }

    /// <summary>Writes each committed file (the ChittyFile given, or one built from -R2Key) to the pipeline.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var connection = ResolveConnection();
        var file = InputObject ?? new ChittyFile
        {
            R2Key = R2Key!,
            Name = R2Key!.Substring(R2Key.LastIndexOf('/') + 1),
            Sha256 = Sha256?.ToLowerInvariant() ?? string.Empty,
            Size = Size ?? 0,
        };
        var sessionId = ResolveSessionId(SessionId ?? (string.IsNullOrEmpty(file.SessionId) ? null : file.SessionId), connection);
        if (!ShouldProcess($"{file.Uri} in session '{sessionId}'", "Commit"))
        {
            return;
        }

        TryRun(async ct =>
        {
            await connection.Api.CommitAsync(file.R2Key, sessionId, string.IsNullOrEmpty(file.Sha256) ? null : file.Sha256,
                InputObject is not null || Size is not null ? file.Size : null, TaskId, ct).ConfigureAwait(false);
            if (PassThru)
            {
                file.SessionId = sessionId;
                PostObject(file);
            }
        }, file.R2Key);
    }
}
