using System.Management.Automation;
using ChittyConnect.Api;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>
/// Refuses a value that cannot be a session id (<see cref="SessionIds"/>), before anything is sent; with
/// <see cref="AllowWildcards"/>, wildcard characters pass for the cmdlets that filter by pattern.
/// </summary>
internal sealed class ValidateSessionIdAttribute : ValidateEnumeratedArgumentsAttribute
{
    public bool AllowWildcards { get; set; }

    protected override void ValidateElement(object element)
    {
        var id = element is PSObject wrapped ? wrapped.BaseObject?.ToString() : element?.ToString();
        if (id is null || (AllowWildcards && WildcardPattern.ContainsWildcardCharacters(id)))
        {
            return;
        }

        if (SessionIds.Problem(id) is { } problem)
        {
            throw new ValidationMetadataException($"'{id}' is not a session id: {problem}.");
        }
    }
}
