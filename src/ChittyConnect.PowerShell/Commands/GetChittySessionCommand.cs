using System.Linq;
using System.Management.Automation;
using ChittyConnect.Api;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Lists the unexpired sessions of the connection's ChittyID, or gets sessions by id.</summary>
[Cmdlet(VerbsCommon.Get, "ChittySession")]
[OutputType(typeof(ChittySession))]
public sealed class GetChittySessionCommand : ChittyCmdletBase
{
    /// <summary>Session ids to get; wildcards filter the list. None: all sessions.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId(AllowWildcards = true)]
    [Alias("Id")]
    [SupportsWildcards]
    public string[]? SessionId { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var connection = ResolveConnection();
        if (SessionId is null || SessionId.Length == 0 || SessionId.Any(WildcardPattern.ContainsWildcardCharacters))
        {
            var patterns = SessionId?.Select(s => WildcardPattern.Get(s, WildcardOptions.IgnoreCase)).ToList();
            TryRun(async ct =>
            {
                var sessions = await connection.Api.GetSessionsAsync(ct).ConfigureAwait(false);
                foreach (var session in sessions.Where(s => patterns is null || patterns.Any(p => p.IsMatch(s.Id))))
                {
                    PostObject(session);
                }
            }, null);
            return;
        }

        foreach (var id in SessionId)
        {
            TryRun(async ct => PostObject(await connection.Api.GetSessionAsync(id, ct).ConfigureAwait(false)), id);
        }
    }
}
