using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// A certificate authority made for one test server, and the server certificate it signs for 127.0.0.1
/// and localhost, written as PEM files (the shape s3rver's --key/--cert take). Nothing trusts it: a test
/// trusts it explicitly, through <see cref="TrustOnly"/> in its own HTTP client or by starting a process
/// with SSL_CERT_FILE = <see cref="TrustBundlePath"/>. build/ChittyStack.psm1 makes the same pair for
/// Start-ChittyStack -Https.
/// </summary>
public sealed class TestCertificateAuthority
{
    private TestCertificateAuthority(X509Certificate2 authority, string directory)
    {
        Authority = authority;
        CertificatePath = Path.Combine(directory, "cert.pem");
        KeyPath = Path.Combine(directory, "key.pem");
        TrustBundlePath = Path.Combine(directory, "trust-bundle.pem");
    }

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 Authority { get; }

    public string CertificatePath { get; }

    public string KeyPath { get; }

    /// <summary>The CA alone, as a PEM bundle for SSL_CERT_FILE.</summary>
    public string TrustBundlePath { get; }

    public static TestCertificateAuthority Create(string directory)
    {
        Directory.CreateDirectory(directory);
        var notBefore = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = notBefore.AddDays(7);

        using var authorityKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var authorityRequest = new CertificateRequest("CN=ChittyConnect test CA", authorityKey, HashAlgorithmName.SHA256);
        authorityRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        authorityRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var authorityKeyId = new X509SubjectKeyIdentifierExtension(authorityRequest.PublicKey, false);
        authorityRequest.CertificateExtensions.Add(authorityKeyId);
        using var authority = authorityRequest.CreateSelfSigned(notBefore, notAfter);

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromSubjectKeyIdentifier(authorityKeyId));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var certificate = request.Create(authority, notBefore, notAfter, serial);

        var result = new TestCertificateAuthority(X509CertificateLoader.LoadCertificate(authority.RawData), directory);
        File.WriteAllText(result.CertificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(result.KeyPath, key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(result.TrustBundlePath, authority.ExportCertificatePem());
        return result;
    }

    /// <summary>An HTTP handler that validates server certificates against this CA and nothing else.</summary>
    public SocketsHttpHandler TrustOnly()
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.Add(Authority);
        return new SocketsHttpHandler { SslOptions = { CertificateChainPolicy = policy } };
    }
}
