using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using ChittyConnect.Configuration;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>Tab-completes saved profile names.</summary>
public sealed class ProfileNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var prefix = (wordToComplete ?? string.Empty).Trim('\'', '"');
        return new ProfileStore().List()
            .Where(p => p.Name.StartsWith(prefix, System.StringComparison.OrdinalIgnoreCase))
            .Select(p => new CompletionResult(p.Name, p.Name, CompletionResultType.ParameterValue, $"{p.Name}: {p.ChittyId} at {p.Endpoint}"));
    }
}
