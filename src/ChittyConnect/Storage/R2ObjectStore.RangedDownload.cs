using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>
/// A large object downloaded as ranges fetched side by side, as rclone does above its multi-thread cutoff,
/// where the object's own answer brings its first chunk too slowly for one stream to serve the rest.
/// Guarantees, the same as one GET's: the bytes land at their offsets in the destination, and the object's
/// SHA-256 and MD5 are computed over them in order (from the ranges' buffers, as the contiguous prefix grows),
/// so the download is verified end to end against the ETag, md5chksum or sha256 metadata exactly as one GET
/// is. Every range carries If-Match with the ETag of the first answer and is checked for its offset and length;
/// a range whose connection breaks is fetched again, up to the store's retries; an object replaced between
/// ranges ends the attempt with <see cref="ObjectChangedCode"/>, and the download starts again as a whole.
/// </summary>
public sealed partial class R2ObjectStore
{
    /// <summary>The code of a ranged download whose object was replaced between its ranges.</summary>
    internal const string ObjectChangedCode = "ObjectChanged";

    // Attempts of a whole download whose object is replaced while it is fetched in ranges: a key written
    // continuously fails the download rather than keep it busy.
    private const int ChangedObjectAttempts = 3;

    // Ranges fit a destination that can seek (a file: the sync's temporary file), for objects large enough that
    // streams side by side pay for their requests. A stream that cannot seek (decryption, a pipe) takes one GET.
    private bool InRanges(long size, Stream destination) =>
        _options.RangedDownloadStreams > 1
        && size >= _options.RangedDownloadThreshold
        && size > _options.RangedDownloadChunk
        && destination.CanSeek
        && destination.CanWrite;

    // Whether the answer's own stream, which brought the first chunk at this rate, is fast enough to bring the
    // rest: where one connection is bounded by its window over the round trip (a far link), ranges side by side
    // multiply the rate; where it is not (loopback, a near store), they only add requests and CPU.
    private bool OneStreamSuffices(string key, long bytes, TimeSpan elapsed)
    {
        var rate = bytes / Math.Max(elapsed.TotalSeconds, 1e-6);
        var suffices = rate >= _options.RangedDownloadMinimumRate;
        ChittyLog.Verbose($"'{key}': its first {bytes} bytes came at {rate / (1024 * 1024):0.#} MiB/s; the rest comes {(suffices ? "by the same answer" : $"by ranges, {_options.RangedDownloadStreams} at a time")}.");
        return suffices;
    }

    // Chunks of RangedDownloadChunk bytes after the first (which the object's own answer brought), by ranged
    // GETs, at most RangedDownloadStreams at once, each admitted by the request window as any request is. A
    // chunk's buffer is written at its offset and then hashed in order; at most streams + 1 buffers exist, so
    // memory stays bounded whatever the size. Returns the bytes received.
    private async Task<long> ReceiveInRangesAsync(string key, RemoteObjectInfo info, Stream destination, long start,
        ReceivedHashes hashes, Action<long>? progress, CancellationToken cancellationToken)
    {
        var chunk = _options.RangedDownloadChunk;
        var count = checked((int)((info.Size + chunk - 1) / chunk));
        var streams = Math.Min(_options.RangedDownloadStreams, count - 1);
        var received = new TaskCompletionSource<byte[]>[count];
        for (var i = 1; i < count; i++)
        {
            received[i] = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        var buffers = new Stack<byte[]>();
        using var budget = new SemaphoreSlim(streams + 1);
        using var writing = new SemaphoreSlim(1, 1);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = stop.Token;
        Exception? cause = null;
        var claimed = 0;

        int LengthOf(int index) => (int)Math.Min(chunk, info.Size - index * chunk);

        byte[] Rent()
        {
            lock (buffers)
            {
                return buffers.Count > 0 ? buffers.Pop() : new byte[chunk];
            }
        }

        void GiveBack(byte[] buffer)
        {
            lock (buffers)
            {
                buffers.Push(buffer);
            }

            budget.Release();
        }

        // The first failure is the download's; it stops the others, and the in-order readers with them.
        async Task RunAsync(Func<Task> work)
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                if (Interlocked.CompareExchange(ref cause, ex, null) is null)
                {
                    stop.Cancel();
                    for (var i = 1; i < count; i++)
                    {
                        received[i].TrySetCanceled();
                    }
                }
            }
        }

        async Task FetchAsync()
        {
            while (true)
            {
                await budget.WaitAsync(token).ConfigureAwait(false);
                var index = Interlocked.Increment(ref claimed);
                if (index >= count)
                {
                    budget.Release();
                    return;
                }

                var buffer = Rent();
                var length = LengthOf(index);
                try
                {
                    await FetchRangeAsync(key, info, index * chunk, buffer, length, token).ConfigureAwait(false);
                    await writing.WaitAsync(token).ConfigureAwait(false);
                    try
                    {
                        destination.Position = start + index * chunk;
                        await destination.WriteAsync(buffer, 0, length, token).ConfigureAwait(false);
                    }
                    finally
                    {
                        writing.Release();
                    }
                }
                catch
                {
                    GiveBack(buffer);
                    throw;
                }

                progress?.Invoke(length);
                received[index].TrySetResult(buffer);
            }
        }

        // The ranges' bytes reach the hashes in order, one reader per algorithm when both run (MD5 costs about
        // twice SHA-256's CPU, and one thread running both is the download's longest chain); a buffer goes
        // back once every reader has hashed it.
        var readers = hashes.Both ? 2 : 1;
        var unread = new int[count];
        for (var i = 1; i < count; i++)
        {
            unread[i] = readers;
        }

        async Task HashInOrderAsync(Action<byte[], int, int> append)
        {
            for (var i = 1; i < count; i++)
            {
                var buffer = await received[i].Task.ConfigureAwait(false);
                append(buffer, 0, LengthOf(i));
                if (Interlocked.Decrement(ref unread[i]) == 0)
                {
                    GiveBack(buffer);
                }
            }
        }

        var tasks = new List<Task>();
        for (var i = 0; i < streams; i++)
        {
            tasks.Add(RunAsync(FetchAsync));
        }

        if (readers == 2)
        {
            tasks.Add(RunAsync(() => HashInOrderAsync(hashes.AppendSha256)));
            tasks.Add(RunAsync(() => HashInOrderAsync(hashes.AppendMd5)));
        }
        else
        {
            tasks.Add(RunAsync(() => HashInOrderAsync(hashes.Append)));
        }

        await Task.WhenAll(tasks).ConfigureAwait(false);
        if (cause is not null)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ExceptionDispatchInfo.Capture(cause).Throw();
        }

        destination.Position = start + info.Size;
        return info.Size - chunk;
    }

    // One range of the object, with If-Match on its ETag, into the buffer; a connection that breaks while the
    // body flows is tried again (the headers' failures are retried inside CallAsync, as every request's).
    private async Task FetchRangeAsync(string key, RemoteObjectInfo info, long offset, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        var last = offset + length - 1;
        for (var attempt = 0; ; attempt++)
        {
            var slot = await _window.EnterAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var request = new GetObjectRequest { BucketName = Bucket, Key = key, ByteRange = new ByteRange(offset, last), EtagToMatch = Quoted(info.ETag) };
                using var response = await CallAsync("GET", key, Requests.AddGet, () => S3.GetObjectAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
                if (NormalizeETag(response.ETag) != info.ETag)
                {
                    throw ObjectChanged(key, info.ETag, $"ETag {NormalizeETag(response.ETag)}");
                }

                var range = $"bytes {offset.ToString(CultureInfo.InvariantCulture)}-{last.ToString(CultureInfo.InvariantCulture)}/{info.Size.ToString(CultureInfo.InvariantCulture)}";
                if (response.ContentRange != range || response.ContentLength != length)
                {
                    throw new ObjectStoreException($"'{key}': the store answered the range {offset}-{last} with '{response.ContentRange}' and {response.ContentLength} bytes, not {range}.", key, "RangeMismatch");
                }

                using (var body = response.ResponseStream)
                {
                    await ReadFullyAsync(key, body, buffer, length, cancellationToken).ConfigureAwait(false);
                }

                return;
            }
            catch (ObjectStoreException ex) when (ex.StatusCode == 412 || ex.Code == "PreconditionFailed")
            {
                throw ObjectChanged(key, info.ETag, "another version", ex);
            }
            catch (ObjectStoreException ex) when (ex.Code is "NetworkError" or "Timeout" && ex.StatusCode == 0 && attempt < _options.MaxRetries
                                                  && !cancellationToken.IsCancellationRequested)
            {
                ChittyLog.Verbose($"The range {offset}-{last} of '{key}' broke off ({ex.Message}); fetching it again.");
            }
            finally
            {
                _window.Exit(slot);
            }
        }
    }

    // Exactly length bytes of the body into the buffer (the answer's length was checked against the range): a
    // body that ends early broke off, as a cut connection does.
    private async Task ReadFullyAsync(string key, Stream body, byte[] buffer, int length, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < length)
        {
            var read = await ReadBodyAsync(key, body, buffer, filled, length - filled, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new ObjectStoreException($"'{key}': a range ended after {filled} bytes, expected {length}.", key, "NetworkError");
            }

            filled += read;
        }
    }

    private static ObjectStoreException ObjectChanged(string key, string etag, string now, Exception? inner = null) =>
        new($"'{key}' was replaced while it was downloaded: its ranges are no longer of the version with ETag {etag} ({now}).", key, ObjectChangedCode, 0, inner);
}
