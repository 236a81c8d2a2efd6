using System;
using System.Collections.Generic;

namespace ChittyConnect.Api;

/// <summary>A ChittyConnect session.</summary>
public sealed class ChittySession
{
    public string Id { get; set; } = string.Empty;
    public string? ChittyId { get; set; }
    public DateTimeOffset? Created { get; set; }
    public DateTimeOffset? Updated { get; set; }
    public DateTimeOffset? Expires { get; set; }
    public string? State { get; set; }
    public int Interactions { get; set; }

    /// <summary>The session's metadata as the service returned it (nested objects as dictionaries).</summary>
    public IDictionary<string, object?> Metadata { get; set; } = new Dictionary<string, object?>();

    public override string ToString() => Id;
}

/// <summary>How a file reached the service.</summary>
public enum UploadMethod
{
    /// <summary>Direct for files under the direct limit, presigned above it.</summary>
    Auto,

    /// <summary>POST /api/files/upload with the content in base64 (small files).</summary>
    Direct,

    /// <summary>POST /api/files/presign, then PUT of the raw bytes.</summary>
    Presigned,
}

/// <summary>A file stored in ChittyConnect.</summary>
public sealed class ChittyFile
{
    public string Name { get; set; } = string.Empty;
    public long Size { get; set; }
    public string Sha256 { get; set; } = string.Empty;
    public string Mime { get; set; } = "application/octet-stream";
    public string R2Key { get; set; } = string.Empty;

    /// <summary>r2://&lt;R2Key&gt;, the uri the context endpoints use.</summary>
    public string Uri => ChittyUris.R2(R2Key);

    /// <summary>resource://connect/&lt;session&gt;/&lt;sha256&gt;-&lt;safeName&gt;, as the service builds it.</summary>
    public string ResourceUri => ChittyUris.Resource(SessionId, Sha256, Name);

    public string SessionId { get; set; } = string.Empty;

    /// <summary>The local file it came from, when known.</summary>
    public string? Path { get; set; }

    /// <summary>How it was uploaded.</summary>
    public UploadMethod Method { get; set; }

    /// <summary>Whether it was marked active.</summary>
    public bool Active { get; set; }

    public override string ToString() => Uri;
}

/// <summary>A file to mark active.</summary>
public sealed class ActiveFileSpec
{
    public string Uri { get; set; } = string.Empty;
    public string? Name { get; set; }
    public long? Size { get; set; }
    public string? Sha256 { get; set; }
    public string? Mime { get; set; }
    public IDictionary<string, object?>? Metadata { get; set; }
}

/// <summary>The result of a set-active call.</summary>
public sealed class SetActiveResult
{
    public string SessionId { get; set; } = string.Empty;
    public int Count { get; set; }
    public IReadOnlyList<string> Uris { get; set; } = Array.Empty<string>();
}

/// <summary>One item of a sync report.</summary>
public sealed class SyncReportItem
{
    public string? R2Key { get; set; }
    public string? Uri { get; set; }
    public string? Sha256 { get; set; }
    public long? Size { get; set; }
    public DateTimeOffset? Modified { get; set; }
}

/// <summary>What the service answered to a sync report (all batches together).</summary>
public sealed class SyncReportResult
{
    public string? PathPrefix { get; set; }
    public string Source { get; set; } = "rclone";
    public int Count { get; set; }
    public long Bytes { get; set; }
    public int Batches { get; set; }

    /// <summary>The event id of each batch, in order.</summary>
    public IReadOnlyList<string> EventIds { get; set; } = Array.Empty<string>();

    /// <summary>The last batch's event id.</summary>
    public string? EventId => EventIds.Count == 0 ? null : EventIds[EventIds.Count - 1];
}

/// <summary>An active file as whoami lists it.</summary>
public sealed class ChittyActiveFile
{
    public string Uri { get; set; } = string.Empty;
    public string? Name { get; set; }
    public long? Size { get; set; }
    public string? Sha256 { get; set; }
    public string? Mime { get; set; }
    public DateTimeOffset? LastAccessed { get; set; }

    public override string ToString() => Uri;
}

/// <summary>Who the API key is, its session, active files and quota.</summary>
public sealed class ChittyWhoAmI
{
    public string? ChittyId { get; set; }
    public string? Name { get; set; }
    public string? AccountType { get; set; }
    public string? SessionId { get; set; }
    public DateTimeOffset? SessionCreated { get; set; }
    public DateTimeOffset? LastActivity { get; set; }
    public IReadOnlyList<ChittyActiveFile> ActiveFiles { get; set; } = Array.Empty<ChittyActiveFile>();
    public IReadOnlyList<object?> ActiveTasks { get; set; } = Array.Empty<object?>();
    public IReadOnlyList<string> Scopes { get; set; } = Array.Empty<string>();
    public IDictionary<string, object?> Flags { get; set; } = new Dictionary<string, object?>();
    public long? StorageBytes { get; set; }
    public long? ApiCallsRemaining { get; set; }
}

/// <summary>The answer to a presign request.</summary>
public sealed class PresignResult
{
    public Uri UploadUrl { get; set; } = new("about:blank");
    public string R2Key { get; set; } = string.Empty;
    public int ExpiresIn { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
}

/// <summary>Builders for the URI forms the service uses.</summary>
public static class ChittyUris
{
    /// <summary>r2://&lt;key&gt;.</summary>
    public static string R2(string r2Key) => "r2://" + r2Key;

    /// <summary>
    /// resource://connect/&lt;session&gt;/&lt;sha256&gt;-&lt;safeName&gt;, where safeName is the basename made safe by
    /// <see cref="SafeName"/>, exactly as the service builds it.
    /// </summary>
    public static string Resource(string sessionId, string sha256, string name)
    {
        var normalized = name.Replace('\\', '/');
        var basename = normalized.Substring(normalized.LastIndexOf('/') + 1);
        return $"resource://connect/{sessionId}/{sha256.ToLowerInvariant()}-{SafeName(basename)}";
    }

    /// <summary>
    /// The service's safe form of a file name, used in r2 keys and resource URIs: every UTF-16 code unit outside
    /// <c>[A-Za-z0-9_.-]</c> becomes <c>_</c> (the service's JavaScript replace works on code units, so a character
    /// outside the Basic Multilingual Plane becomes two underscores, and a decomposed accent one more).
    /// </summary>
    public static string SafeName(string name)
    {
        if (name is null)
        {
            throw new ArgumentNullException(nameof(name));
        }

        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var c = chars[i];
            var safe = c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.' or '-';
            if (!safe)
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }
}
