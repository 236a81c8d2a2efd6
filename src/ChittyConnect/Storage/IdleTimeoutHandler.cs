using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Storage;

/// <summary>
/// A timeout per idle stretch instead of one per request: a request fails when no byte of its body went out,
/// and no byte of its answer came in, for the idle timeout; a slow transfer that keeps moving (a large part
/// under a low bandwidth limit, a long download) is never cut. The failure is an
/// <see cref="IdleTimeoutException"/> (an IOException, so the SDK retries it as a network fault).
/// </summary>
internal sealed class IdleTimeoutHandler : DelegatingHandler
{
    private readonly TimeSpan _idle;

    public IdleTimeoutHandler(TimeSpan idle, HttpMessageHandler inner)
        : base(inner) => _idle = idle;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var watchdog = new Watchdog(_idle, cancellationToken);
        try
        {
            if (request.Content is not null)
            {
                request.Content = new WatchedContent(request.Content, watchdog);
            }

            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, watchdog.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (watchdog.Fired && !cancellationToken.IsCancellationRequested)
            {
                throw new IdleTimeoutException(watchdog.Describe("before the answer arrived"), ex);
            }

            watchdog.Touch();
            if (response.Content is not null)
            {
                var watched = new WatchedResponseContent(response.Content, watchdog);
                response.Content = watched;
                // The body's reads keep the watchdog alive; disposing the answer stops it.
                return response;
            }

            watchdog.Dispose();
            return response;
        }
        catch
        {
            watchdog.Dispose();
            throw;
        }
    }

    /// <summary>Cancels its token when nothing moved for the idle time; reads and writes call Touch.</summary>
    private sealed class Watchdog : IDisposable
    {
        private readonly TimeSpan _idle;
        private readonly CancellationTokenSource _cts;
        private readonly Timer _timer;
        private long _lastTouch;
        private int _fired;
        private int _disposed;

        public Watchdog(TimeSpan idle, CancellationToken outer)
        {
            _idle = idle;
            _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
            _lastTouch = Environment.TickCount;
            var period = TimeSpan.FromMilliseconds(Math.Max(50, Math.Min(1000, idle.TotalMilliseconds / 4)));
            _timer = new Timer(_ => Check(), null, period, period);
        }

        public CancellationToken Token => _cts.Token;

        public bool Fired => Volatile.Read(ref _fired) == 1;

        public event Action? OnFire;

        public void Touch() => Interlocked.Exchange(ref _lastTouch, Environment.TickCount);

        public string Describe(string when) =>
            $"nothing moved for {_idle.TotalSeconds:0.#} s {when} (the idle timeout)";

        private void Check()
        {
            var idleMs = unchecked(Environment.TickCount - (int)Interlocked.Read(ref _lastTouch));
            if (idleMs < _idle.TotalMilliseconds || Interlocked.Exchange(ref _fired, 1) == 1)
            {
                return;
            }

            try
            {
                _cts.Cancel();
                OnFire?.Invoke();
            }
            catch (ObjectDisposedException)
            {
                // Finished meanwhile.
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                _timer.Dispose();
                _cts.Dispose();
            }
        }
    }

    // The request body, written through a stream that tells the watchdog of every write.
    private sealed class WatchedContent : WrappedContent
    {
        private readonly Watchdog _watchdog;

        public WatchedContent(HttpContent inner, Watchdog watchdog)
            : base(inner, sameLength: true) => _watchdog = watchdog;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            Inner.CopyToAsync(new TouchingStream(stream, _watchdog, null));
    }

    // The answer's body: each read touches the watchdog; when it fires, the read in progress is abandoned
    // (the connection is disposed) and fails with IdleTimeoutException.
    private sealed class WatchedResponseContent : WrappedContent
    {
        private readonly Watchdog _watchdog;
        private Stream? _stream;

        public WatchedResponseContent(HttpContent inner, Watchdog watchdog)
            : base(inner, sameLength: true) => _watchdog = watchdog;

        protected override async Task<Stream> CreateContentReadStreamAsync()
        {
            var inner = await Inner.ReadAsStreamAsync().ConfigureAwait(false);
            _watchdog.OnFire += () => inner.Dispose();
            _stream = new TouchingStream(inner, _watchdog, _watchdog);
            return _stream;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            using var source = await CreateContentReadStreamAsync().ConfigureAwait(false);
            await source.CopyToAsync(stream).ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _stream?.Dispose();
                _watchdog.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    private sealed class TouchingStream : Stream
    {
        private readonly Stream _inner;
        private readonly Watchdog _watchdog;
        private readonly Watchdog? _owned;

        public TouchingStream(Stream inner, Watchdog watchdog, Watchdog? owned)
        {
            _inner = inner;
            _watchdog = watchdog;
            _owned = owned;
        }

        public override bool CanRead => _inner.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => _inner.CanWrite;
        public override long Length => _inner.Length;

        public override long Position
        {
            get => _inner.Position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            try
            {
                var read = _inner.Read(buffer, offset, count);
                ThrowIfCutByWatchdog(read);
                _watchdog.Touch();
                return read;
            }
            catch (Exception ex) when (_watchdog.Fired && ex is not IdleTimeoutException)
            {
                throw new IdleTimeoutException(_watchdog.Describe("while the answer was being read"), ex);
            }
        }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            try
            {
                var read = await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                ThrowIfCutByWatchdog(read);
                _watchdog.Touch();
                return read;
            }
            catch (Exception ex) when (_watchdog.Fired && !cancellationToken.IsCancellationRequested && ex is not IdleTimeoutException)
            {
                throw new IdleTimeoutException(_watchdog.Describe("while the answer was being read"), ex);
            }
        }

        // A stream the watchdog disposed may end instead of failing: that end is the timeout, not the body's.
        private void ThrowIfCutByWatchdog(int read)
        {
            if (read == 0 && _watchdog.Fired)
            {
                throw new IdleTimeoutException(_watchdog.Describe("while the answer was being read"));
            }
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            _inner.Write(buffer, offset, count);
            _watchdog.Touch();
        }

        public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            try
            {
                await _inner.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
                _watchdog.Touch();
            }
            catch (Exception ex) when (_watchdog.Fired && ex is not IdleTimeoutException)
            {
                throw new IdleTimeoutException(_watchdog.Describe("while the body was being sent"), ex);
            }
        }

        public override void Flush() => _inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && _owned is not null)
            {
                _inner.Dispose();
                _owned.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>Nothing moved in either direction for the idle timeout.</summary>
internal sealed class IdleTimeoutException : IOException
{
    /// <summary>Creates the exception.</summary>
    public IdleTimeoutException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
