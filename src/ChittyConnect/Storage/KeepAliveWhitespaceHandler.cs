using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Storage;

/// <summary>
/// S3 keeps a long CompleteMultipartUpload alive by sending whitespace after its 200 status line, before the
/// XML of the answer; an XML reader refuses whitespace before the declaration. This drops the leading
/// whitespace of every successful answer to a POST, so the answer reads as the document it is.
/// </summary>
internal sealed class KeepAliveWhitespaceHandler : DelegatingHandler
{
    public KeepAliveWhitespaceHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (request.Method == HttpMethod.Post && response.IsSuccessStatusCode && response.Content is not null)
        {
            response.Content = new TrimmedContent(response.Content);
        }

        return response;
    }

    private sealed class TrimmedContent : WrappedContent
    {
        public TrimmedContent(HttpContent inner)
            : base(inner, sameLength: false)
        {
        }

        protected override async Task<Stream> CreateContentReadStreamAsync() =>
            new LeadingWhitespaceSkipper(await Inner.ReadAsStreamAsync().ConfigureAwait(false));

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            using var source = await CreateContentReadStreamAsync().ConfigureAwait(false);
            await source.CopyToAsync(stream).ConfigureAwait(false);
        }
    }

    private sealed class LeadingWhitespaceSkipper : Stream
    {
        private readonly Stream _inner;
        private bool _started;

        public LeadingWhitespaceSkipper(Stream inner) => _inner = inner;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            while (true)
            {
                var read = await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                if (_started || read == 0)
                {
                    return read;
                }

                var skip = 0;
                while (skip < read && buffer[offset + skip] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                {
                    skip++;
                }

                if (skip == read)
                {
                    continue;
                }

                _started = true;
                Buffer.BlockCopy(buffer, offset + skip, buffer, offset, read - skip);
                return read - skip;
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
