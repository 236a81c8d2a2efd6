using System.Collections;
using System.Management.Automation;
using ChittyConnect.Api;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Creates a session (or overwrites the session with that id).</summary>
[Cmdlet(VerbsCommon.New, "ChittySession", SupportsShouldProcess = true)]
[OutputType(typeof(ChittySession))]
public sealed class NewChittySessionCommand : ChittyCmdletBase
{
    /// <summary>The session id, e.g. my-desktop-session; the connection's session when not given.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId]
    [Alias("Id")]
    public string? SessionId { get; set; }

    /// <summary>Metadata stored with the session (device, purpose, ...).</summary>
    [Parameter(Position = 1)]
    public Hashtable? Metadata { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var connection = ResolveConnection();
        // The session a connection names must exist before the other cmdlets use it, and the service forgets it
        // after 24 hours: a bare New-ChittySession (re)creates that one.
        var sessionId = ResolveSessionId(SessionId, connection);
        if (!ShouldProcess($"session '{sessionId}' of {connection.ChittyId} at {connection.Endpoint}", "Create or overwrite ChittyConnect session"))
        {
            return;
        }

        var metadata = Metadata is null ? null : PSValues.ToDictionary(Metadata);
        TryRun(async ct => PostObject(await connection.Api.CreateSessionAsync(sessionId, metadata, ct).ConfigureAwait(false)), sessionId);
    }
}
