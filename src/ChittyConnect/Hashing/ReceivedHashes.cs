using System;
using System.Security.Cryptography;

namespace ChittyConnect.Hashing;

/// <summary>
/// The SHA-256 and MD5 of bytes received in order, each computed only when asked for (a download hashes
/// what its checks or its caller need). Not thread-safe: one reader appends to each algorithm at a time
/// (<see cref="Append"/> to both, or <see cref="AppendSha256"/> and <see cref="AppendMd5"/> from one thread each).
/// </summary>
internal sealed class ReceivedHashes : IDisposable
{
    private readonly IncrementalHash? _sha256;
    private readonly IncrementalHash? _md5;

    public ReceivedHashes(bool sha256, bool md5)
    {
        _sha256 = sha256 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        _md5 = md5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
    }

    /// <summary>Adds the next bytes of the content.</summary>
    public void Append(byte[] buffer, int offset, int count)
    {
        _sha256?.AppendData(buffer, offset, count);
        _md5?.AppendData(buffer, offset, count);
    }

    /// <summary>Whether both algorithms run (and so can run on two threads).</summary>
    public bool Both => _sha256 is not null && _md5 is not null;

    /// <summary>Adds the next bytes to the SHA-256 alone.</summary>
    public void AppendSha256(byte[] buffer, int offset, int count) => _sha256?.AppendData(buffer, offset, count);

    /// <summary>Adds the next bytes to the MD5 alone.</summary>
    public void AppendMd5(byte[] buffer, int offset, int count) => _md5?.AppendData(buffer, offset, count);

    /// <summary>Lower-case hex SHA-256 of everything appended; empty when it was not asked for.</summary>
    public string Sha256() => _sha256 is null ? string.Empty : ContentHasher.ToHex(_sha256.GetHashAndReset());

    /// <summary>Lower-case hex MD5 of everything appended; empty when it was not asked for.</summary>
    public string Md5() => _md5 is null ? string.Empty : ContentHasher.ToHex(_md5.GetHashAndReset());

    public void Dispose()
    {
        _sha256?.Dispose();
        _md5?.Dispose();
    }
}
