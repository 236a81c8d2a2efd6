namespace ChittyConnect.Crypt;

/// <summary>
/// NaCl secretbox (XSalsa20-Poly1305) as <see cref="SecretBox"/> seals and opens it, by an implementation
/// faster than BouncyCastle's that only some runtimes can load (<see cref="SecretBoxCores"/>). Stateless and
/// thread-safe: one instance serves every stream.
/// </summary>
internal interface ISecretBoxCore
{
    /// <summary>Seals <paramref name="count"/> bytes of <paramref name="plain"/> into <paramref name="sealedOut"/> (the 16-byte tag, then the ciphertext).</summary>
    void Seal(byte[] key, byte[] nonce, byte[] plain, int offset, int count, byte[] sealedOut, int outOffset);

    /// <summary>
    /// Opens <paramref name="count"/> sealed bytes (tag then ciphertext) into <paramref name="plainOut"/>;
    /// false, with nothing written, when the tag does not authenticate the ciphertext.
    /// </summary>
    bool Open(byte[] key, byte[] nonce, byte[] sealedIn, int offset, int count, byte[] plainOut, int outOffset);
}
