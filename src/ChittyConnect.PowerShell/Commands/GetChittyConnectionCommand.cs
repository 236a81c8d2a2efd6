using System.Management.Automation;
using ChittyConnect.Configuration;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Gets the current connection, or with -ListAvailable the saved profiles.</summary>
[Cmdlet(VerbsCommon.Get, "ChittyConnection", DefaultParameterSetName = CurrentSet)]
[OutputType(typeof(ChittyConnection), ParameterSetName = new[] { CurrentSet })]
[OutputType(typeof(ChittyProfile), ParameterSetName = new[] { ListSet })]
public sealed class GetChittyConnectionCommand : PSCmdlet
{
    private const string CurrentSet = "Current";
    private const string ListSet = "ListAvailable";

    /// <summary>Lists the saved profiles instead (no secrets).</summary>
    [Parameter(ParameterSetName = ListSet, Mandatory = true)]
    public SwitchParameter ListAvailable { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (ListAvailable)
        {
            WriteObject(new ProfileStore().List(), enumerateCollection: true);
            return;
        }

        try
        {
            var connection = ConnectionRegistry.CurrentOrEnvironment(out _);
            if (connection is null)
            {
                WriteError(new ErrorRecord(new System.InvalidOperationException("Not connected to ChittyConnect. Run Connect-Chitty first."),
                    "ChittyNotConnected", ErrorCategory.ConnectionError, null));
                return;
            }

            WriteObject(connection);
        }
        catch (System.ArgumentException ex)
        {
            WriteError(ChittyErrors.ToErrorRecord(ex, null, "ChittyInvalidEnvironment"));
        }
    }
}
