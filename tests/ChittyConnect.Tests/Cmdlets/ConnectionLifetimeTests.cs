using System.Collections;
using ChittyConnect.PowerShell.Commands;
using ChittyConnect.PowerShell.Internal;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Cmdlets;

/// <summary>A runspace's connection lives as long as the runspace: ForEach-Object -Parallel leaves none behind.</summary>
public sealed class ConnectionLifetimeTests
{
    [Fact]
    public void Each_parallel_runspace_has_its_own_connection_and_it_is_gone_when_the_runspace_closes()
    {
        using var ps = new PowerShellRunner();

        var result = ps.Run(
            """
            param($module)
            1..6 | ForEach-Object -ThrottleLimit 3 -Parallel {
                Import-Module $using:module
                $connection = Connect-Chitty -Endpoint http://127.0.0.1:9 -ApiKey (ConvertTo-SecureString "sk-$_" -AsPlainText -Force) -ChittyId "chitty-$_"
                [pscustomobject]@{ Runspace = [runspace]::DefaultRunspace.InstanceId; ChittyId = (Get-ChittyConnection).ChittyId; Expected = $connection.ChittyId }
            }
            """,
            new Hashtable { ["module"] = typeof(ConnectChittyCommand).Assembly.Location });

        Assert.Empty(result.Errors);
        Assert.Null(result.Terminating);
        Assert.Equal(6, result.Output.Count);
        Assert.All(result.Output, o => Assert.Equal((string)o.Properties["Expected"].Value, (string)o.Properties["ChittyId"].Value));
        var runspaces = result.Output.Select(o => (Guid)o.Properties["Runspace"].Value).Distinct().ToList();
        Assert.NotEmpty(runspaces);
        Assert.All(runspaces, id => Assert.False(ConnectionRegistry.Holds(id), $"runspace {id} closed but its connection is still held"));
    }

    [Fact]
    public void The_connection_of_a_runspace_that_stays_open_stays_current()
    {
        using var ps = new PowerShellRunner();

        var first = ps.Run("Connect-Chitty -Endpoint http://127.0.0.1:9 -ApiKey (ConvertTo-SecureString sk-1 -AsPlainText -Force) -ChittyId chitty-kept | Out-Null; [runspace]::DefaultRunspace.InstanceId");
        var again = ps.Run("(Get-ChittyConnection).ChittyId");

        Assert.Equal("chitty-kept", Assert.Single(again.Output).BaseObject);
        Assert.True(ConnectionRegistry.Holds((Guid)Assert.Single(first.Output).BaseObject));
    }
}
