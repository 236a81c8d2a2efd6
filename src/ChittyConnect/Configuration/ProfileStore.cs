using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChittyConnect.Api;

namespace ChittyConnect.Configuration;

/// <summary>A saved connection as listed (no secrets).</summary>
public sealed class ChittyProfile
{
    public string Name { get; set; } = string.Empty;
    public Uri? Endpoint { get; set; }
    public string? ChittyId { get; set; }
    public string? SessionId { get; set; }
    public Uri? R2Endpoint { get; set; }
    public string? Bucket { get; set; }
    public string Protection { get; set; } = string.Empty;
    public string Path { get; set; } = string.Empty;
}

/// <summary>
/// Named connection profiles on disk. Secrets are never stored in clear text: on Windows they are
/// protected with DPAPI (current user); elsewhere they are encrypted (AES-256-CBC + HMAC-SHA256) with a
/// key kept in an owner-only file beside the profiles, and every file is mode 0600.
/// </summary>
public sealed class ProfileStore
{
    private const int FormatVersion = 1;
    private static readonly Regex s_validName = new("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", RegexOptions.CultureInvariant);
    private readonly string _root;

    /// <summary>A store under <paramref name="root"/> (default: <see cref="ConfigDirectory.Root"/>).</summary>
    public ProfileStore(string? root = null) => _root = root ?? ConfigDirectory.Root;

    /// <summary>The profiles folder.</summary>
    public string ProfileDirectory => Path.Combine(_root, "profiles");

    /// <summary>The file a profile lives in.</summary>
    public string PathOf(string name) => Path.Combine(ProfileDirectory, CheckName(name) + ".json");

    /// <summary>Saves <paramref name="settings"/> under <paramref name="name"/>.</summary>
    public string Save(string name, ChittyConnectionSettings settings, bool overwrite)
    {
        var path = PathOf(name);
        if (File.Exists(path) && !overwrite)
        {
            throw new IOException($"A profile named '{name}' already exists ({path}). Use -Force to replace it.");
        }

        var protector = CreateProtector();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("version", FormatVersion);
            w.WriteString("name", name);
            w.WriteString("endpoint", settings.Endpoint.ToString());
            w.WriteString("chittyId", settings.ChittyId);
            WriteOptional(w, "sessionId", settings.SessionId);
            WriteOptional(w, "r2Endpoint", settings.R2Endpoint?.ToString());
            WriteOptional(w, "bucket", settings.Bucket);
            WriteOptional(w, "r2AccessKeyId", settings.R2AccessKeyId);
            w.WriteNumber("requestTimeoutSeconds", settings.RequestTimeout.TotalSeconds);
            w.WriteString("protection", protector.Name);
            WriteOptional(w, "apiKey", settings.ApiKey is null ? null : protector.Protect(settings.ApiKey.Reveal()));
            WriteOptional(w, "r2SecretAccessKey", settings.R2SecretAccessKey is null ? null : protector.Protect(settings.R2SecretAccessKey.Reveal()));
            WriteOptional(w, "cryptPassword", settings.CryptPassword is null ? null : protector.Protect(settings.CryptPassword.Reveal()));
            WriteOptional(w, "cryptSalt", settings.CryptSalt is null ? null : protector.Protect(settings.CryptSalt.Reveal()));
            WriteOptional(w, "cryptNameEncryption", settings.CryptPassword is null ? null : settings.CryptNameEncryption.ToString().ToLowerInvariant());
            w.WriteEndObject();
        }

        ConfigDirectory.WritePrivateFile(path, buffer.ToArray());
        return path;
    }

    /// <summary>Loads a profile; throws <see cref="FileNotFoundException"/> when there is none.</summary>
    public ChittyConnectionSettings Load(string name)
    {
        var path = PathOf(name);
        if (!File.Exists(path))
        {
            var known = List().Select(p => p.Name).ToList();
            throw new FileNotFoundException($"There is no saved profile named '{name}'." +
                (known.Count == 0 ? " None are saved yet: use Connect-Chitty ... -Save -Name <name>." : " Saved profiles: " + string.Join(", ", known) + "."), path);
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            var version = root.GetInt64("version") ?? 0;
            if (version != FormatVersion)
            {
                throw new InvalidDataException($"Profile '{name}' has format version {version}; this module reads version {FormatVersion}.");
            }

            var protector = CreateProtector();
            var protection = root.GetString("protection");
            if (protection != protector.Name)
            {
                throw new InvalidDataException($"Profile '{name}' was protected with '{protection}', which this machine cannot read. Save it again here.");
            }

            var settings = new ChittyConnectionSettings
            {
                Name = name,
                Endpoint = new Uri(root.GetString("endpoint") ?? throw new InvalidDataException("no endpoint")),
                ChittyId = root.GetString("chittyId"),
                SessionId = root.GetString("sessionId"),
                R2Endpoint = root.GetString("r2Endpoint") is { } r2 ? new Uri(r2) : null,
                Bucket = root.GetString("bucket"),
                R2AccessKeyId = root.GetString("r2AccessKeyId"),
            };
            if (root.GetChild("requestTimeoutSeconds") is { ValueKind: JsonValueKind.Number } timeout)
            {
                settings.RequestTimeout = TimeSpan.FromSeconds(timeout.GetDouble());
            }

            if (root.GetString("apiKey") is { } apiKey)
            {
                settings.ApiKey = new ChittySecret(protector.Unprotect(apiKey));
            }

            if (root.GetString("r2SecretAccessKey") is { } r2Secret)
            {
                settings.R2SecretAccessKey = new ChittySecret(protector.Unprotect(r2Secret));
            }

            if (root.GetString("cryptPassword") is { } cryptPassword)
            {
                settings.CryptPassword = new ChittySecret(protector.Unprotect(cryptPassword));
            }

            if (root.GetString("cryptSalt") is { } cryptSalt)
            {
                settings.CryptSalt = new ChittySecret(protector.Unprotect(cryptSalt));
            }

            if (root.GetString("cryptNameEncryption") is { } names)
            {
                settings.CryptNameEncryption = ChittyConnectionSettings.ParseNameEncryption(names, "cryptNameEncryption");
            }

            return settings;
        }
        catch (Exception ex) when (ex is JsonException or CryptographicException or FormatException or UriFormatException)
        {
            throw new InvalidDataException($"Profile '{name}' ({path}) cannot be read: {ex.Message} Save it again with Connect-Chitty -Save -Force.", ex);
        }
    }

    /// <summary>The saved profiles, without secrets.</summary>
    public IReadOnlyList<ChittyProfile> List()
    {
        if (!Directory.Exists(ProfileDirectory))
        {
            return Array.Empty<ChittyProfile>();
        }

        var result = new List<ChittyProfile>();
        foreach (var file in Directory.EnumerateFiles(ProfileDirectory, "*.json").OrderBy(f => f, StringComparer.OrdinalIgnoreCase))
        {
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
                var root = doc.RootElement;
                result.Add(new ChittyProfile
                {
                    Name = Path.GetFileNameWithoutExtension(file),
                    Endpoint = root.GetString("endpoint") is { } e ? new Uri(e) : null,
                    ChittyId = root.GetString("chittyId"),
                    SessionId = root.GetString("sessionId"),
                    R2Endpoint = root.GetString("r2Endpoint") is { } r2 ? new Uri(r2) : null,
                    Bucket = root.GetString("bucket"),
                    Protection = root.GetString("protection") ?? string.Empty,
                    Path = file,
                });
            }
            catch (Exception ex) when (ex is JsonException or IOException or UriFormatException)
            {
                result.Add(new ChittyProfile { Name = Path.GetFileNameWithoutExtension(file), Protection = "unreadable", Path = file });
            }
        }

        return result;
    }

    /// <summary>Deletes a profile; false when there was none.</summary>
    public bool Remove(string name)
    {
        var path = PathOf(name);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    private static string CheckName(string name) =>
        name is not null && s_validName.IsMatch(name)
            ? name
            : throw new ArgumentException($"'{name}' is not a valid profile name: use letters, digits, '_', '.', '-' (at most 64, starting with a letter or digit).");

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private ISecretProtector CreateProtector() =>
        ConfigDirectory.IsWindows ? new DpapiProtector() : new KeyFileProtector(Path.Combine(_root, "profile.key"));

    private interface ISecretProtector
    {
        string Name { get; }

        string Protect(string secret);

        string Unprotect(string protectedText);
    }

    private sealed class DpapiProtector : ISecretProtector
    {
        private static readonly byte[] s_entropy = Encoding.UTF8.GetBytes("ChittyConnect.PowerShell profile");

        public string Name => "dpapi-currentuser";

        public string Protect(string secret) =>
            Convert.ToBase64String(ProtectedData.Protect(Encoding.UTF8.GetBytes(secret), s_entropy, DataProtectionScope.CurrentUser));

        public string Unprotect(string protectedText) =>
            Encoding.UTF8.GetString(ProtectedData.Unprotect(Convert.FromBase64String(protectedText), s_entropy, DataProtectionScope.CurrentUser));
    }

    private sealed class KeyFileProtector : ISecretProtector
    {
        private readonly string _keyPath;

        public KeyFileProtector(string keyPath) => _keyPath = keyPath;

        public string Name => "aes256-keyfile";

        public string Protect(string secret)
        {
            var (encryptionKey, macKey) = Keys(create: true);
            using var aes = Aes.Create();
            aes.Key = encryptionKey;
            aes.GenerateIV();
            byte[] cipher;
            using (var encryptor = aes.CreateEncryptor())
            {
                var plain = Encoding.UTF8.GetBytes(secret);
                cipher = encryptor.TransformFinalBlock(plain, 0, plain.Length);
            }

            var payload = aes.IV.Concat(cipher).ToArray();
            using var hmac = new HMACSHA256(macKey);
            return Convert.ToBase64String(payload.Concat(hmac.ComputeHash(payload)).ToArray());
        }

        public string Unprotect(string protectedText)
        {
            var (encryptionKey, macKey) = Keys(create: false);
            var data = Convert.FromBase64String(protectedText);
            if (data.Length < 16 + 16 + 32)
            {
                throw new CryptographicException("The protected secret is truncated.");
            }

            var payload = data.Take(data.Length - 32).ToArray();
            using (var hmac = new HMACSHA256(macKey))
            {
                var expected = hmac.ComputeHash(payload);
                var actual = data.Skip(data.Length - 32).ToArray();
                var diff = 0;
                for (var i = 0; i < 32; i++)
                {
                    diff |= expected[i] ^ actual[i];
                }

                if (diff != 0)
                {
                    throw new CryptographicException("The protected secret does not match this machine's profile key (was profile.key replaced?).");
                }
            }

            using var aes = Aes.Create();
            aes.Key = encryptionKey;
            aes.IV = payload.Take(16).ToArray();
            using var decryptor = aes.CreateDecryptor();
            return Encoding.UTF8.GetString(decryptor.TransformFinalBlock(payload, 16, payload.Length - 16));
        }

        private (byte[] Encryption, byte[] Mac) Keys(bool create)
        {
            if (!File.Exists(_keyPath))
            {
                if (!create)
                {
                    throw new CryptographicException($"The profile key '{_keyPath}' is missing.");
                }

                var fresh = new byte[64];
                using (var rng = RandomNumberGenerator.Create())
                {
                    rng.GetBytes(fresh);
                }

                ConfigDirectory.WritePrivateFile(_keyPath, fresh);
            }

            var key = File.ReadAllBytes(_keyPath);
            if (key.Length != 64)
            {
                throw new CryptographicException($"The profile key '{_keyPath}' is damaged.");
            }

            return (key.Take(32).ToArray(), key.Skip(32).ToArray());
        }
    }
}
