using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ChittyConnect.Api;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>
/// Marks files active in a session; everything piped in goes in one request at the end. A file whose r2 key is
/// known (any input with an R2Key: Send-ChittyFile and Sync-ChittyFolder results) is named by its r2:// URI, the
/// one uploads and sync reports record, so whoami lists it once; only local files (-Path, FileInfo), whose key is
/// not known, get their resource:// URI.
/// </summary>
[Cmdlet(VerbsCommon.Set, "ChittyActiveFile", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true)]
[OutputType(typeof(SetActiveResult))]
public sealed class SetChittyActiveFileCommand : ChittyCmdletBase
{
    private const string InputObjectSet = "InputObject";
    private const string UriSet = "Uri";
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private readonly List<ActiveFileSpec> _files = new();
    private string? _sessionFromInput;

    /// <summary>Files from Send-ChittyFile, Sync-ChittyFolder or Get-ChittyWhoAmI (anything with a Uri or R2Key).</summary>
    [Parameter(ParameterSetName = InputObjectSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PSObject? InputObject { get; set; }

    /// <summary>r2:// or resource:// uris.</summary>
    [Parameter(ParameterSetName = UriSet, Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[] Uri { get; set; } = Array.Empty<string>();

    /// <summary>Local files: their resource:// uri is computed from their SHA-256.</summary>
    [Parameter(ParameterSetName = PathSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Local files, taken literally (no wildcards).</summary>
    [Parameter(ParameterSetName = LiteralPathSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    [Alias("PSPath", "LP")]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>A display name (with -Uri, for every uri).</summary>
    [Parameter(ParameterSetName = UriSet)]
    [Parameter(ParameterSetName = PathSet)]
    [Parameter(ParameterSetName = LiteralPathSet)]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Metadata stored with each file.</summary>
    [Parameter]
    public Hashtable? Metadata { get; set; }

    /// <summary>The session (default: the files' own, else the connection's).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId]
    public string? SessionId { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var metadata = Metadata is null ? null : PSValues.ToDictionary(Metadata);
        switch (ParameterSetName)
        {
            case UriSet:
                _files.AddRange(Uri.Select(u => new ActiveFileSpec { Uri = u, Name = Name ?? LastSegment(u), Metadata = metadata }));
                break;
            case PathSet:
            case LiteralPathSet:
                var literal = ParameterSetName == LiteralPathSet;
                foreach (var input in literal ? LiteralPath : Path)
                {
                    foreach (var path in PathResolver.Resolve(this, input, literal))
                    {
                        AddLocalFile(path, metadata);
                    }
                }

                break;
            default:
                AddInputObject(InputObject!, metadata);
                break;
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (_files.Count == 0)
        {
            WriteVerbose("No files to mark active.");
            return;
        }

        var connection = ResolveConnection();
        var sessionId = ResolveSessionId(SessionId ?? _sessionFromInput, connection);
        var target = _files.Count == 1 ? _files[0].Uri : $"{_files.Count} files";
        if (!ShouldProcess($"{target} in session '{sessionId}'", "Mark active"))
        {
            return;
        }

        TryRun(async ct => PostObject(await connection.Api.SetActiveAsync(sessionId, _files, ct).ConfigureAwait(false)), sessionId);
    }

    private void AddInputObject(PSObject input, IDictionary<string, object?>? metadata)
    {
        switch (input.BaseObject)
        {
            case ChittyFile file:
                _sessionFromInput ??= file.SessionId;
                _files.Add(new ActiveFileSpec { Uri = file.R2Key.Length > 0 ? file.Uri : file.ResourceUri, Name = file.Name, Size = file.Size, Sha256 = file.Sha256, Mime = file.Mime, Metadata = metadata });
                return;
            case ChittyActiveFile active:
                _files.Add(new ActiveFileSpec { Uri = active.Uri, Name = active.Name, Size = active.Size, Sha256 = active.Sha256, Mime = active.Mime, Metadata = metadata });
                return;
            case string text:
                _files.Add(new ActiveFileSpec { Uri = text, Name = LastSegment(text), Metadata = metadata });
                return;
            case System.IO.FileInfo info:
                AddLocalFile(info.FullName, metadata);
                return;
            case IDictionary dictionary:
                input = new PSObject();
                foreach (DictionaryEntry entry in dictionary)
                {
                    input.Properties.Add(new PSNoteProperty(entry.Key?.ToString() ?? string.Empty, entry.Value));
                }

                break;
        }

        // Any object with Uri or R2Key (Sync-ChittyFolder results, Import-Csv rows, hashtables). A known r2 key wins
        // over any other Uri: the service records uploads and sync reports as r2://<key>, and a second URI for the
        // same file would list it twice.
        string? Get(string name) => input.Properties[name]?.Value?.ToString();
        var uri = Get("R2Key") is { Length: > 0 } key ? ChittyUris.R2(key) : Get("Uri");
        if (string.IsNullOrWhiteSpace(uri))
        {
            WriteError(ErrorFor(new ArgumentException($"The input object has neither a Uri nor an R2Key property: {input}"), input, "ChittyActiveFileWithoutUri"));
            return;
        }

        long? size = long.TryParse(Get("Size"), out var parsedSize) ? parsedSize : null;
        _sessionFromInput ??= Get("SessionId");
        _files.Add(new ActiveFileSpec
        {
            Uri = uri!,
            Name = Get("Name") ?? LastSegment(uri!),
            Size = size,
            Sha256 = Get("Sha256"),
            Mime = Get("Mime"),
            Metadata = metadata,
        });
    }

    private void AddLocalFile(string path, IDictionary<string, object?>? metadata)
    {
        if (System.IO.Directory.Exists(path))
        {
            WriteError(ErrorFor(new ArgumentException($"'{path}' is a directory; only files can be marked active."), path, "ChittyPathIsDirectory"));
            return;
        }

        var connection = ResolveConnection();
        var sessionId = ResolveSessionId(SessionId, connection);
        TryRun(async ct =>
        {
            var hashes = await Hashing.ContentHasher.HashFileAsync(path, ct).ConfigureAwait(false);
            var name = System.IO.Path.GetFileName(path);
            var spec = new ActiveFileSpec
            {
                Uri = ChittyUris.Resource(sessionId, hashes.Sha256, name),
                Name = Name ?? name,
                Size = hashes.Length,
                Sha256 = hashes.Sha256,
                Mime = MimeTypes.ForFileName(name),
                Metadata = metadata,
            };
            Post(() => _files.Add(spec));
        }, path);
    }

    private static string LastSegment(string uri) => uri.Substring(uri.TrimEnd('/').LastIndexOf('/') + 1);
}
