using System.Net;
using System.Net.Http;
using System.Threading.Tasks;

namespace ChittyConnect.Api;

/// <summary>
/// A request body that knows whether it began to leave: until then the server cannot have acted on the request,
/// so a request that is not safe to repeat may still be sent again after a failure (a refused connection).
/// </summary>
internal sealed class SendTrackingContent : HttpContent
{
    private readonly HttpContent _inner;
    private volatile bool _started;

    public SendTrackingContent(HttpContent inner)
    {
        _inner = inner;
        foreach (var header in inner.Headers)
        {
            if (header.Key != "Content-Length")
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }
    }

    /// <summary>True once the first byte of the body was handed to the connection.</summary>
    public bool Started => _started;

    protected override Task SerializeToStreamAsync(System.IO.Stream stream, TransportContext? context)
    {
        _started = true;
        return _inner.CopyToAsync(stream);
    }

    protected override bool TryComputeLength(out long length)
    {
        var known = _inner.Headers.ContentLength;
        length = known ?? 0;
        return known is not null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
