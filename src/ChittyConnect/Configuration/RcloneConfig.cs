using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using ChittyConnect.Crypt;

namespace ChittyConnect.Configuration;

/// <summary>The R2 settings of one rclone remote: what <c>Connect-Chitty -RcloneRemote</c> takes from it.</summary>
public sealed class RcloneR2Remote
{
    /// <summary>The remote's name, the section of rclone.conf.</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>The S3 endpoint (for R2, https://&lt;account&gt;.r2.cloudflarestorage.com).</summary>
    public Uri Endpoint { get; set; } = new("about:blank");

    /// <summary>The access key id.</summary>
    public string AccessKeyId { get; set; } = string.Empty;

    /// <summary>The secret access key, revealed when the file held it in rclone's obscured form.</summary>
    public ChittySecret SecretAccessKey { get; set; } = new("-");

    /// <summary>True when the file held the secret obscured (as <c>rclone obscure</c> prints it).</summary>
    public bool SecretWasObscured { get; set; }

    /// <summary>The bucket named after the colon of a remote spec (<c>name:bucket/path</c>), if any.</summary>
    public string? Bucket { get; set; }
}

/// <summary>
/// Reads rclone's config file (an INI file: <c>[remote]</c> sections of <c>key = value</c> lines) and the S3 settings
/// of one remote, so that a user of the rclone guide connects from the remote they already have.
/// </summary>
public static class RcloneConfig
{
    /// <summary>The environment variable that names rclone's config file, as rclone reads it.</summary>
    public const string ConfigVariable = "RCLONE_CONFIG";

    private const string EncryptedMarker = "RCLONE_ENCRYPT_V0:";

    /// <summary>
    /// The config file rclone would use: <c>RCLONE_CONFIG</c> when set, else <c>~/.config/rclone/rclone.conf</c>.
    /// </summary>
    public static string DefaultPath(IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        if (environment[ConfigVariable] is string configured && configured.Length > 0)
        {
            return configured;
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".config", "rclone", "rclone.conf");
    }

    /// <summary>Parses rclone.conf text into its sections (remote name to its keys and values).</summary>
    /// <exception cref="InvalidDataException">The file is encrypted with a config password.</exception>
    public static IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Parse(string text)
    {
        if (text is null)
        {
            throw new ArgumentNullException(nameof(text));
        }

        var sections = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        Dictionary<string, string>? current = null;
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.StartsWith(EncryptedMarker, StringComparison.Ordinal))
            {
                throw new InvalidDataException("The rclone config file is encrypted with a config password; it cannot be read here. Give the R2 settings with -R2Endpoint, -Bucket and -R2Credential instead.");
            }

            if (line.Length == 0 || line[0] == '#' || line[0] == ';')
            {
                continue;
            }

            if (line[0] == '[' && line[line.Length - 1] == ']')
            {
                var name = line.Substring(1, line.Length - 2).Trim();
                current = new Dictionary<string, string>(StringComparer.Ordinal);
                sections[name] = current;
                continue;
            }

            var eq = line.IndexOf('=');
            if (current is null || eq <= 0)
            {
                continue;
            }

            current[line.Substring(0, eq).Trim()] = line.Substring(eq + 1).Trim();
        }

        return sections;
    }

    /// <summary>
    /// The R2 settings of the remote <paramref name="remoteSpec"/> (<c>name</c>, or <c>name:bucket/path</c> as rclone
    /// commands take it) in the config file at <paramref name="path"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="ArgumentException">No such remote, not an S3 remote, or keys missing.</exception>
    /// <exception cref="InvalidDataException">The file is encrypted with a config password.</exception>
    public static RcloneR2Remote ReadR2Remote(string path, string remoteSpec)
    {
        if (string.IsNullOrWhiteSpace(remoteSpec))
        {
            throw new ArgumentException("Name the rclone remote, such as 'chittyos-data'.", nameof(remoteSpec));
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"There is no rclone config file at '{path}' (give it with -RcloneConfig, or set {ConfigVariable}).", path);
        }

        var colon = remoteSpec.IndexOf(':');
        var name = colon < 0 ? remoteSpec.Trim() : remoteSpec.Substring(0, colon).Trim();
        var bucketPath = colon < 0 ? string.Empty : remoteSpec.Substring(colon + 1).Trim('/');
        var bucket = bucketPath.Length == 0 ? null : bucketPath.Split('/')[0];

        var sections = Parse(File.ReadAllText(path));
        if (!sections.TryGetValue(name, out var remote))
        {
            throw new ArgumentException($"The rclone config '{path}' has no remote named '{name}'; it has: {(sections.Count == 0 ? "none" : string.Join(", ", sections.Keys))}.");
        }

        string? Get(string key) => remote.TryGetValue(key, out var value) && value.Length > 0 ? value : null;
        if (!string.Equals(Get("type"), "s3", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"The rclone remote '{name}' is of type '{Get("type") ?? "(none)"}'; an R2 remote has type s3 (provider Cloudflare).");
        }

        if (string.Equals(Get("env_auth"), "true", StringComparison.OrdinalIgnoreCase) && Get("access_key_id") is null)
        {
            throw new ArgumentException($"The rclone remote '{name}' takes its keys from the environment (env_auth = true); give them with -R2Credential.");
        }

        var accessKey = Get("access_key_id")
            ?? throw new ArgumentException($"The rclone remote '{name}' has no access_key_id.");
        var secretText = Get("secret_access_key")
            ?? throw new ArgumentException($"The rclone remote '{name}' has no secret_access_key.");
        var endpointText = Get("endpoint")
            ?? throw new ArgumentException($"The rclone remote '{name}' has no endpoint; for R2 it is https://<account id>.r2.cloudflarestorage.com.");
        if (!endpointText.Contains("://"))
        {
            // rclone accepts an endpoint without a scheme and uses https.
            endpointText = "https://" + endpointText;
        }

        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint))
        {
            throw new ArgumentException($"The endpoint '{endpointText}' of the rclone remote '{name}' is not a URL.");
        }

        // rclone keeps S3 secrets as typed; a guide's user may have pasted the output of "rclone obscure".
        var revealed = TryRevealObscured(secretText);
        return new RcloneR2Remote
        {
            Name = name,
            Endpoint = endpoint,
            AccessKeyId = accessKey,
            SecretAccessKey = revealed ?? new ChittySecret(secretText),
            SecretWasObscured = revealed is not null,
            Bucket = bucket,
        };
    }

    /// <summary>
    /// The clear text of a value in rclone's obscured form that hides printable text, else <see langword="null"/>
    /// (a plain secret, as rclone keeps S3 keys).
    /// </summary>
    /// <remarks>
    /// A plain secret that happens to be base64url reveals random bytes; asking for printable UTF-8 text makes
    /// mistaking one for an obscured value vanishingly unlikely (about 1 in 10^13 for a 32-byte secret).
    /// </remarks>
    internal static ChittySecret? TryRevealObscured(string value)
    {
        ChittySecret revealed;
        try
        {
            revealed = RcloneObscure.Reveal(value);
        }
        catch (ArgumentException)
        {
            return null;
        }

        foreach (var c in revealed.Reveal())
        {
            if (char.IsControl(c))
            {
                return null;
            }
        }

        return revealed;
    }
}
