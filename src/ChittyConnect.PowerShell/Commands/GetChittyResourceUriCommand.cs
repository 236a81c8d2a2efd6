using System;
using System.Management.Automation;
using System.Text.RegularExpressions;
using ChittyConnect.Api;
using ChittyConnect.Hashing;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Computes the stable resource URI resource://connect/&lt;session&gt;/&lt;sha256&gt;-&lt;basename&gt; of a file.</summary>
[Cmdlet(VerbsCommon.Get, "ChittyResourceUri", DefaultParameterSetName = PathSet)]
[OutputType(typeof(string))]
public sealed class GetChittyResourceUriCommand : ChittyCmdletBase
{
    private const string PathSet = "Path";
    private const string HashSet = "Hash";
    private static readonly Regex s_sha256 = new("^[0-9a-fA-F]{64}$", RegexOptions.CultureInvariant);

    /// <summary>Local files (hashed with SHA-256).</summary>
    [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("PSPath", "FullName")]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>A known SHA-256 (64 hex digits).</summary>
    [Parameter(ParameterSetName = HashSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidatePattern("^[0-9a-fA-F]{64}$")]
    public string? Sha256 { get; set; }

    /// <summary>The file name that goes with -Sha256.</summary>
    [Parameter(ParameterSetName = HashSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>The session (default: the connection's).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? SessionId { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var sessionId = SessionId ?? ResolveSessionId(null, ResolveConnection());
        if (ParameterSetName == HashSet)
        {
            WriteObject(ChittyUris.Resource(sessionId, Sha256!, Name!));
            return;
        }

        foreach (var input in Path)
        {
            foreach (var path in PathResolver.Resolve(this, input, literal: false))
            {
                if (System.IO.Directory.Exists(path))
                {
                    WriteError(ErrorFor(new ArgumentException($"'{path}' is a directory; a resource URI names a file."), path, "ChittyPathIsDirectory"));
                    continue;
                }

                TryRun(async ct =>
                {
                    var hashes = await ContentHasher.HashFileAsync(path, ct).ConfigureAwait(false);
                    PostObject(ChittyUris.Resource(sessionId, hashes.Sha256, System.IO.Path.GetFileName(path)));
                }, path);
            }
        }
    }

    internal static bool IsSha256(string text) => s_sha256.IsMatch(text);
}
