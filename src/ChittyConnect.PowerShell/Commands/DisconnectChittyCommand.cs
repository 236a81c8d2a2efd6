using System.Management.Automation;
using ChittyConnect.Configuration;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Forgets the current connection (and, with -RemoveProfile, deletes a saved profile).</summary>
[Cmdlet(VerbsCommunications.Disconnect, "Chitty", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class DisconnectChittyCommand : PSCmdlet
{
    /// <summary>Also deletes the saved profile of this name.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ProfileNameCompleter))]
    public string? RemoveProfile { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        var connection = ConnectionRegistry.Remove();
        if (connection is null)
        {
            WriteVerbose("There was no current connection.");
        }
        else
        {
            WriteVerbose($"Disconnected from {connection.Endpoint}.");
            connection.Dispose();
        }

        if (RemoveProfile is not null)
        {
            var store = new ProfileStore();
            if (!ShouldProcess(store.PathOf(RemoveProfile), "Delete saved profile"))
            {
                return;
            }

            if (!store.Remove(RemoveProfile))
            {
                WriteError(new ErrorRecord(new System.IO.FileNotFoundException($"There is no saved profile named '{RemoveProfile}'."),
                    "ChittyProfileNotFound", ErrorCategory.ObjectNotFound, RemoveProfile));
            }
        }
    }
}
