using System.Security.Cryptography;
using ChittyConnect.Configuration;
using ChittyConnect.Crypt;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Crypt;

/// <summary>
/// The module's crypt against rclone 1.60 itself, over local folders: rclone writes and the module reads,
/// the module writes and rclone lists, reads and cryptchecks it. Without rclone these tests fail.
/// </summary>
public sealed class RcloneCryptInteropTests : IDisposable
{
    private const string Password = "correct horse battery staple";
    private const string Salt = "pepper and more pepper";

    // Empty, one block exactly, one block and a byte, a few MiB; names with Unicode, spaces and depth.
    private static readonly (string Path, int Size)[] s_files =
    {
        ("empty.txt", 0),
        ("one-byte", 1),
        ("block/exactly-64k.bin", 65536),
        ("block/64k-plus-one.bin", 65537),
        ("big/three-mib-and-some.dat", (3 * 1024 * 1024) + 4321),
        ("Ünïcödé ファイル/名前 with spaces.md", 1000),
        ("a/b/c/d/deep.txt", 77),
        ("x".PadRight(127, 'x') + ".long-name", 12),
    };

    private readonly string _root = Directory.CreateTempSubdirectory("chitty-crypt-").FullName;
    private readonly RcloneTool _rclone = new();

    public RcloneCryptInteropTests()
    {
        foreach (var (path, size) in s_files)
        {
            var full = Path.Combine(_root, "plain", path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, RandomNumberGenerator.GetBytes(size));
        }
    }

    private string Plain => Path.Combine(_root, "plain");

    [Fact]
    public void ObscuredPasswordsCrossBothWays()
    {
        Assert.Equal("pässwörd with spaces", RcloneObscure.Reveal(_rclone.Obscure("pässwörd with spaces")).Reveal());

        var ours = RcloneObscure.Obscure(new ChittySecret("ours: ünï"));

        // An obscured value is base64url of a random IV and the ciphertext: one in 64 starts with '-', which
        // rclone would take for a flag without the "--".
        Assert.Equal("ours: ünï", _rclone.Run("reveal", "--", ours).TrimEnd('\n'));
    }

    [Theory]
    [InlineData(null)]
    [InlineData(Salt)]
    public void NamesEncryptAsRcloneEncryptsThem(string? salt)
    {
        _rclone.AddCrypt("secret", Path.Combine(_root, "enc"), Password, salt);
        using var names = new RcloneNameCipher(Key(salt));
        var paths = s_files.Select(f => f.Path).Append("exactly-16-bytes").Append("é").ToArray();

        var rclones = ParseCryptDecode(_rclone.Run(new[] { "cryptdecode", "--reverse", "secret:" }.Concat(paths).ToArray()));
        var decoded = ParseCryptDecode(_rclone.Run(new[] { "cryptdecode", "secret:" }.Concat(paths.Select(names.EncryptPath)).ToArray()));

        Assert.Equal(paths.Select(p => (p, rclones[p])), paths.Select(p => (p, names.EncryptPath(p))));
        Assert.Equal(paths.Select(p => (names.EncryptPath(p), p)), paths.Select(p => (names.EncryptPath(p), decoded[names.EncryptPath(p)])));
    }

    [Theory]
    [InlineData(null, "standard")]
    [InlineData(Salt, "standard")]
    [InlineData(null, "off")]
    public void TheModuleReadsWhatRcloneWrote(string? salt, string nameMode)
    {
        var encrypted = Path.Combine(_root, "enc");
        _rclone.AddCrypt("secret", encrypted, Password, salt, nameMode);
        _rclone.Run("copy", Plain, "secret:");
        var key = Key(salt);
        using var names = new RcloneNameCipher(key, nameMode == "off" ? RcloneNameEncryption.Off : RcloneNameEncryption.Standard);

        var found = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(encrypted, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(encrypted, file).Replace('\\', '/');
            var plainPath = names.DecryptPath(relative);
            found[plainPath] = CryptFormatTests.ReadAll(new RcloneDecryptingStream(File.OpenRead(file), key), 65536);
            Assert.Equal(new FileInfo(file).Length, RcloneCryptFormat.EncryptedSize(found[plainPath].Length));
        }

        Assert.Equal(s_files.Select(f => f.Path).OrderBy(p => p, StringComparer.Ordinal), found.Keys);
        foreach (var (path, _) in s_files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(Plain, path)), found[path]);
        }
    }

    [Theory]
    [InlineData(null, "standard")]
    [InlineData(Salt, "standard")]
    [InlineData(null, "off")]
    public void RcloneListsReadsAndChecksWhatTheModuleWrote(string? salt, string nameMode)
    {
        var encrypted = Path.Combine(_root, "enc");
        _rclone.AddCrypt("secret", encrypted, Password, salt, nameMode);
        var key = Key(salt);
        using var names = new RcloneNameCipher(key, nameMode == "off" ? RcloneNameEncryption.Off : RcloneNameEncryption.Standard);
        foreach (var (path, _) in s_files)
        {
            var target = Path.Combine(encrypted, names.EncryptPath(path));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            using var source = new RcloneEncryptingStream(File.OpenRead(Path.Combine(Plain, path)), key);
            using var output = File.Create(target);
            source.CopyTo(output);
        }

        var listed = _rclone.Run("lsf", "-R", "--files-only", "secret:").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var check = _rclone.TryRun("cryptcheck", Plain, "secret:");
        var copy = Path.Combine(_root, "copied");
        _rclone.Run("copy", "secret:", copy);

        Assert.Equal(s_files.Select(f => f.Path).OrderBy(p => p, StringComparer.Ordinal), listed.OrderBy(p => p, StringComparer.Ordinal));
        Assert.True(check.ExitCode == 0, "rclone cryptcheck: " + check.StandardError);
        Assert.Contains($"{s_files.Length} matching files", check.StandardError);
        foreach (var (path, _) in s_files)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(Plain, path)), File.ReadAllBytes(Path.Combine(copy, path)));
        }
    }

    [Fact]
    public void AWrongPasswordFailsClearlyOnWhatRcloneWrote()
    {
        var encrypted = Path.Combine(_root, "enc");
        _rclone.AddCrypt("secret", encrypted, Password);
        _rclone.Run("copy", Plain, "secret:");
        var wrong = RcloneCryptKey.Derive(new ChittySecret("not the password"));
        using var names = new RcloneNameCipher(wrong);
        var file = Directory.EnumerateFiles(encrypted, "*", SearchOption.AllDirectories).First(f => new FileInfo(f).Length > 32);

        var nameError = Assert.Throws<RcloneCryptException>(() => names.DecryptPath(Path.GetRelativePath(encrypted, file).Replace('\\', '/')));
        var contentError = Assert.Throws<RcloneCryptException>(() => CryptFormatTests.ReadAll(new RcloneDecryptingStream(File.OpenRead(file), wrong), 65536));

        Assert.Equal(RcloneCryptException.BadName, nameError.Code);
        Assert.Equal(RcloneCryptException.BadBlock, contentError.Code);
        Assert.Contains("password or salt is wrong", contentError.Message);
    }

    [Fact]
    public void RcloneRefusesWhatTheModuleWroteUnderAnotherPassword()
    {
        var encrypted = Path.Combine(_root, "enc");
        _rclone.AddCrypt("secret", encrypted, Password);
        var other = RcloneCryptKey.Derive(new ChittySecret("some other password"));
        using var names = new RcloneNameCipher(other);
        Directory.CreateDirectory(encrypted);
        using (var source = new RcloneEncryptingStream(new MemoryStream(new byte[1000]), other))
        using (var output = File.Create(Path.Combine(encrypted, names.EncryptPath("x.txt"))))
        {
            source.CopyTo(output);
        }

        // rclone skips names it cannot decrypt: the module's object is invisible to it, not misread.
        Assert.Equal(string.Empty, _rclone.Run("lsf", "-R", "secret:").Trim());
    }

    public void Dispose()
    {
        _rclone.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private static RcloneCryptKey Key(string? salt) =>
        RcloneCryptKey.Derive(new ChittySecret(Password), salt is null ? null : new ChittySecret(salt));

    // `rclone cryptdecode` prints "<input> \t <output>" per argument.
    private static Dictionary<string, string> ParseCryptDecode(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(" \t ", 2))
            .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
}
