using System;
using System.Management.Automation;
using ChittyConnect.Api;
using ChittyConnect.Hashing;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Computes the stable resource URI resource://connect/&lt;session&gt;/&lt;sha256&gt;-&lt;safeName&gt; of a file, as the service builds it.</summary>
[Cmdlet(VerbsCommon.Get, "ChittyResourceUri", DefaultParameterSetName = PathSet)]
[OutputType(typeof(string))]
public sealed class GetChittyResourceUriCommand : ChittyCmdletBase
{
    private const string PathSet = "Path";
    private const string HashSet = "Hash";
    private const string LiteralPathSet = "LiteralPath";

    /// <summary>Local files (hashed with SHA-256).</summary>
    [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Local files, taken literally; binds FileInfo objects from Get-ChildItem.</summary>
    [Parameter(ParameterSetName = LiteralPathSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("PSPath", "FullName", "LP")]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>A known SHA-256 (64 hex digits).</summary>
    [Parameter(ParameterSetName = HashSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidatePattern("^[0-9a-fA-F]{64}$")]
    public string? Sha256 { get; set; }

    /// <summary>
    /// The file name that goes with -Sha256; with -LiteralPath, the name to use instead of the file's own.
    /// (In both sets so that a FileInfo's Name and PSPath bind together from the pipeline.)
    /// </summary>
    [Parameter(ParameterSetName = HashSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [Parameter(ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>The session (default: the connection's).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId]
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

        var literal = ParameterSetName == LiteralPathSet;
        foreach (var input in literal ? LiteralPath : Path)
        {
            foreach (var path in PathResolver.Resolve(this, input, literal))
            {
                if (System.IO.Directory.Exists(path))
                {
                    WriteError(ErrorFor(new ArgumentException($"'{path}' is a directory; a resource URI names a file."), path, "ChittyPathIsDirectory"));
                    continue;
                }

                TryRun(async ct =>
                {
                    var hashes = await ContentHasher.HashFileAsync(path, ct).ConfigureAwait(false);
                    PostObject(ChittyUris.Resource(sessionId, hashes.Sha256, literal && Name is not null ? Name : System.IO.Path.GetFileName(path)));
                }, path);
            }
        }
    }
}
