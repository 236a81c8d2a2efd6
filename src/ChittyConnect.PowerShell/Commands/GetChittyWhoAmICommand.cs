using System.Management.Automation;
using ChittyConnect.Api;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Shows who the API key is: ChittyID, session, active files and quota.</summary>
[Cmdlet(VerbsCommon.Get, "ChittyWhoAmI")]
[OutputType(typeof(ChittyWhoAmI))]
public sealed class GetChittyWhoAmICommand : ChittyCmdletBase
{
    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var connection = ResolveConnection();
        TryRun(async ct => PostObject(await connection.Api.WhoAmIAsync(ct).ConfigureAwait(false)), connection.Endpoint, terminating: true);
    }
}
