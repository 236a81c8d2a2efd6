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
        var store = new ProfileStore();
        string? profilePath = null;
        if (RemoveProfile is not null)
        {
            try
            {
                profilePath = store.PathOf(RemoveProfile);
            }
            catch (System.ArgumentException ex)
            {
                ThrowTerminatingError(ChittyErrors.ToErrorRecord(ex, RemoveProfile));
            }
        }

        var current = ConnectionRegistry.Current;
        if (current is null)
        {
            WriteVerbose("There was no current connection.");
        }
        else if (ShouldProcess(current.ToString(), "Disconnect"))
        {
            ConnectionRegistry.Remove();
            WriteVerbose($"Disconnected from {current.Endpoint}.");
            current.Dispose();
        }

        if (RemoveProfile is not null)
        {
            if (!ShouldProcess(profilePath!, "Delete saved profile"))
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
