using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using ChittyConnect.Api;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Uploads files to a ChittyConnect session (direct base64 for small files, presign + PUT for large ones).</summary>
[Cmdlet(VerbsCommunications.Send, "ChittyFile", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
[OutputType(typeof(ChittyFile))]
public sealed class SendChittyFileCommand : ChittyCmdletBase
{
    private const string PathSet = "Path";
    private const string LiteralPathSet = "LiteralPath";
    private readonly List<ChittyFile> _toActivate = new();
    private ChittyConnection? _connection;
    private string? _sessionId;
    private int _activityId;

    /// <summary>Files to upload; wildcards allowed.</summary>
    [Parameter(ParameterSetName = PathSet, Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Files to upload, taken literally; binds FileInfo objects from Get-ChildItem.</summary>
    [Parameter(ParameterSetName = LiteralPathSet, Mandatory = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    [Alias("PSPath", "FullName", "LP")]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>The session (default: the connection's).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId]
    public string? SessionId { get; set; }

    /// <summary>Auto (direct under 5 MB, else presigned), Direct or Presigned.</summary>
    [Parameter]
    public UploadMethod Method { get => (UploadMethod)_method; set => _method = (int)value; }

    // An int, not the enum: a field of a library type would make PowerShell need the library while it
    // lists the module's types, before ModuleInitializer can resolve it (ModuleLoadContext).
    private int _method = (int)UploadMethod.Auto;

    /// <summary>The MIME type (default: from the extension).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Mime { get; set; }

    /// <summary>Also marks the uploaded files active in the session (one request, at the end).</summary>
    [Parameter]
    public SwitchParameter Activate { get; set; }

    /// <inheritdoc />
    protected override void BeginProcessing()
    {
        _connection = ResolveConnection();
        _sessionId = ResolveSessionId(SessionId, _connection);
        _activityId = Math.Abs(GetHashCode() % 100000) + 1;
    }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var literal = ParameterSetName == LiteralPathSet;
        foreach (var input in literal ? LiteralPath : Path)
        {
            foreach (var path in PathResolver.Resolve(this, input, literal))
            {
                Upload(path);
            }
        }
    }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        if (!Activate || _toActivate.Count == 0)
        {
            return;
        }

        // A presigned upload is active already (the service's PUT marked it): only the others need the request.
        var files = _toActivate.Where(f => !f.Active)
            .Select(f => new ActiveFileSpec { Uri = f.Uri, Name = f.Name, Size = f.Size, Sha256 = f.Sha256, Mime = f.Mime }).ToList();
        var activated = files.Count == 0
            || TryRun(async ct => await _connection!.Api.SetActiveAsync(_sessionId!, files, ct).ConfigureAwait(false), _sessionId);
        foreach (var file in _toActivate)
        {
            file.Active = file.Active || activated;
            WriteObject(file);
        }
    }

    private void Upload(string path)
    {
        if (Directory.Exists(path))
        {
            WriteError(ErrorFor(new ArgumentException($"'{path}' is a directory. Send-ChittyFile uploads files: use Sync-ChittyFolder for a folder, or Get-ChildItem -File -Recurse | Send-ChittyFile."), path, "ChittyPathIsDirectory"));
            return;
        }

        if (!ShouldProcess(path, $"Upload to ChittyConnect session '{_sessionId}'"))
        {
            return;
        }

        var name = System.IO.Path.GetFileName(path);
        long length = 0;
        try
        {
            length = new FileInfo(path).Length;
        }
        catch (IOException)
        {
            // Reported by the upload itself.
        }

        long sent = 0;
        var lastReport = 0L;
        TryRun(async ct =>
        {
            var file = await FileUploader.UploadAsync(_connection!.Api, path, _sessionId!, Method, Mime, n =>
            {
                var total = Interlocked.Add(ref sent, n);
                var now = Environment.TickCount;
                if (length > 0 && now - Interlocked.Read(ref lastReport) > 250)
                {
                    Interlocked.Exchange(ref lastReport, now);
                    var percent = (int)Math.Min(100, Math.Max(0, total * 100 / length));
                    PostProgress(new ProgressRecord(_activityId, "Sending to ChittyConnect", $"{name}: {total:N0} of {length:N0} bytes") { PercentComplete = percent });
                }
            }, ct).ConfigureAwait(false);
            PostProgress(new ProgressRecord(_activityId, "Sending to ChittyConnect", name) { RecordType = ProgressRecordType.Completed });
            if (Activate)
            {
                Post(() => _toActivate.Add(file));
            }
            else
            {
                PostObject(file);
            }
        }, path);
    }
}
