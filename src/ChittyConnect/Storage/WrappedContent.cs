using System.Net.Http;

namespace ChittyConnect.Storage;

/// <summary>
/// A body that passes another one's bytes through a stream of its own (to watch or trim them), under the
/// other one's headers. When the bytes may change in number, Content-Length is dropped.
/// </summary>
internal abstract class WrappedContent : HttpContent
{
    private readonly bool _sameLength;

    protected WrappedContent(HttpContent inner, bool sameLength)
    {
        Inner = inner;
        _sameLength = sameLength;
        foreach (var header in inner.Headers)
        {
            if (sameLength || !string.Equals(header.Key, "Content-Length", System.StringComparison.OrdinalIgnoreCase))
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }
    }

    protected HttpContent Inner { get; }

    protected override bool TryComputeLength(out long length)
    {
        var known = _sameLength ? Inner.Headers.ContentLength : null;
        length = known ?? 0;
        return known.HasValue;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
