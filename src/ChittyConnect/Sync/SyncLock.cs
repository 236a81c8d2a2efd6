using System;
using System.IO;
using System.Text;

namespace ChittyConnect.Sync;

/// <summary>An exclusive lock on one state file, so two syncs of the same target cannot interleave.</summary>
internal sealed class SyncLock : IDisposable
{
    private readonly FileStream _stream;

    private SyncLock(FileStream stream) => _stream = stream;

    // The lock file stays behind: deleting it on close would let a waiter lock an unlinked file.
    public static SyncLock Acquire(string statePath, string what, TimeSpan timeout, System.Threading.CancellationToken cancellationToken)
    {
        var path = statePath + ".lock";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                var pid = Encoding.ASCII.GetBytes(System.Diagnostics.Process.GetCurrentProcess().Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                stream.SetLength(0);
                stream.Write(pid, 0, pid.Length);
                stream.Flush();
                return new SyncLock(stream);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                cancellationToken.WaitHandle.WaitOne(200);
                cancellationToken.ThrowIfCancellationRequested();
            }
            catch (IOException ex)
            {
                throw new SyncException($"Another sync of {what} is running (lock file '{path}'). Wait for it to finish and run the sync again, or give -LockTimeoutSec <seconds> to wait for it.", "SyncLocked", ex);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
