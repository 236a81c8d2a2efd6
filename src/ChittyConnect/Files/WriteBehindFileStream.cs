using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Files;

/// <summary>
/// A file written whole before it is made durable (a download's temporary file) whose data goes to disk while
/// it is still being written: every <see cref="SyncBytes"/> bytes, when no earlier one is still running, a
/// data sync (fdatasync) of what is written so far starts on a thread of its own. Without it everything waits
/// for the fsync that must come before the file is renamed into place and recorded, and that fsync then
/// writes the whole file while the caller waits (and has the disk's cache flushed of all of it at once);
/// with it the final <see cref="FlushToDisk"/> waits only for the last stretch.
/// Guarantees: <see cref="FlushToDisk"/> is still the file's own fsync, after the last background sync has
/// ended, and it fails if any background sync failed (Linux reports a write error to one sync of a file
/// only, so a background sync's failure is kept for it, never dropped). The background syncs are Linux's
/// (fdatasync through libc); elsewhere nothing runs in the background and the final fsync does it all. A
/// libc without the call ends the background syncs for the process. Writes, seeks and lengths go to the
/// file unchanged.
/// </summary>
internal sealed class WriteBehindFileStream : Stream
{
    /// <summary>Bytes written between two background syncs: a sync is rare, and the final one waits for at most this.</summary>
    internal const long SyncBytes = 8L * 1024 * 1024;

    private static readonly bool IsLinux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
    private static volatile bool _unavailable;

    private readonly FileStream _file;
    private readonly Func<int, int> _dataSync;
    private long _sinceSync;
    private Task _syncing = Task.CompletedTask;
    private int _failedErrno;

    public WriteBehindFileStream(FileStream file)
        : this(file, null)
    {
    }

    /// <summary>A file whose background data sync is <paramref name="dataSync"/> (a file descriptor in, 0 or an errno out), for tests.</summary>
    internal WriteBehindFileStream(FileStream file, Func<int, int>? dataSync)
    {
        _file = file ?? throw new ArgumentNullException(nameof(file));
        _dataSync = dataSync ?? DataSync;
    }

    /// <summary>Background syncs that ran to success (tests read it).</summary>
    internal int BackgroundSyncs { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => _file.CanSeek;

    public override bool CanWrite => _file.CanWrite;

    public override long Length => _file.Length;

    public override long Position
    {
        get => _file.Position;
        set => _file.Position = value;
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        _file.Write(buffer, offset, count);
        Written(count);
    }

    public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        await _file.WriteAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
        Written(count);
    }

    public override void Flush() => _file.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _file.FlushAsync(cancellationToken);

    /// <summary>
    /// Makes everything written durable: waits for the background sync, then the file's own fsync. Throws
    /// <see cref="IOException"/> when a background sync failed, even if the fsync after it succeeds.
    /// </summary>
    public void FlushToDisk()
    {
        _syncing.GetAwaiter().GetResult();
        var errno = Volatile.Read(ref _failedErrno);
        if (errno != 0)
        {
            throw new IOException($"Writing '{_file.Name}' to disk failed (errno {errno}).");
        }

        _file.Flush(flushToDisk: true);
    }

    public override long Seek(long offset, SeekOrigin origin) => _file.Seek(offset, origin);

    public override void SetLength(long value) => _file.SetLength(value);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The file is only written.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // A background sync holds the handle open; it ends before the file closes.
            try
            {
                _syncing.GetAwaiter().GetResult();
            }
            finally
            {
                _file.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private void Written(int count)
    {
        _sinceSync += count;
        if (_sinceSync < SyncBytes || !IsLinux || _unavailable || !_syncing.IsCompleted)
        {
            return;
        }

        _sinceSync = 0;
        _file.Flush();
        var handle = _file.SafeFileHandle;
        var added = false;
        handle.DangerousAddRef(ref added);
        // A thread of its own: the call blocks for as long as the disk takes, which the pool's threads, shared with
        // the transfers' continuations, should not.
        _syncing = Task.Factory.StartNew(() =>
        {
            try
            {
                // The handle is held while its number is used: a file closed meanwhile cannot lend the number to another.
                var errno = _dataSync((int)handle.DangerousGetHandle());
                if (errno == 0)
                {
                    BackgroundSyncs++;
                }
                else
                {
                    Interlocked.CompareExchange(ref _failedErrno, errno, 0);
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
            {
                _unavailable = true;
            }
            finally
            {
                handle.DangerousRelease();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    // 0, or the errno of a failure. Interrupted, it is asked again; a file that cannot be synced (EINVAL, EROFS,
    // ENOTSUP: a special or read-only file system) has nothing to sync, as .NET's own Flush(true) takes it.
    private static int DataSync(int fd)
    {
        while (true)
        {
            if (NativeMethods.fdatasync(fd) == 0)
            {
                return 0;
            }

            switch (Marshal.GetLastWin32Error())
            {
                case 4: // EINTR
                    continue;
                case 22: // EINVAL
                case 30: // EROFS
                case 95: // ENOTSUP
                    return 0;
                case var errno:
                    return Math.Max(1, errno);
            }
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
#pragma warning disable IDE1006 // the C name
        public static extern int fdatasync(int fd);
#pragma warning restore IDE1006
    }
}
