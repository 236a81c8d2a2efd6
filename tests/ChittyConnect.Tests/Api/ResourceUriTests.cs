using System.Collections;
using ChittyConnect.Api;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Api;

/// <summary>Resource URIs name a file as the service does: its safeName, the same as in its r2 key.</summary>
public sealed class ResourceUriTests
{
    private const string Sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    [Theory]
    [InlineData("my notes (1).txt", "my_notes__1_.txt")]
    [InlineData("résumé.txt", "r_sum_.txt")]
    [InlineData("report [final] {v2}.pdf", "report__final___v2_.pdf")]
    [InlineData("会议记录.md", "____.md")]
    [InlineData("plain_name-1.0.tar.gz", "plain_name-1.0.tar.gz")]
    [InlineData("a+b=c&d'e\"f.txt", "a_b_c_d_e_f.txt")]
    [InlineData("photo 😀.jpg", "photo___.jpg")]
    public void SafeName_replaces_every_character_outside_the_service_set(string name, string expected)
    {
        Assert.Equal(expected, ChittyUris.SafeName(name));
        Assert.Equal($"resource://connect/s1/{Sha}-{expected}", ChittyUris.Resource("s1", Sha.ToUpperInvariant(), "/some dir/" + name));
    }

    [Fact]
    public void Only_the_basename_is_kept_whatever_the_separator()
    {
        Assert.Equal($"resource://connect/s1/{Sha}-document.pdf", ChittyUris.Resource("s1", Sha, "C:\\my docs\\document.pdf"));
    }

    [Fact]
    public void Get_ChittyResourceUri_and_the_files_of_Send_ChittyFile_agree_with_the_r2_key()
    {
        var work = Path.Combine(Path.GetTempPath(), "chitty-uri-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var names = new[] { "my notes (1).txt", "résumé.txt", "[draft].md", "会议.txt" };
            foreach (var name in names)
            {
                File.WriteAllText(Path.Combine(work, name), "content of " + name);
            }

            using var ps = new PowerShellRunner();
            var result = ps.Run(
                "param($d) Get-ChildItem -LiteralPath $d -File | Sort-Object Name | ForEach-Object { Get-ChittyResourceUri -LiteralPath $_.FullName -SessionId s1 }",
                new Hashtable { ["d"] = work });
            Assert.Empty(result.Errors);
            var uris = result.Output.Select(o => o.ToString()).ToList();
            Assert.Equal(4, uris.Count);
            Assert.All(uris, u => Assert.Matches("^resource://connect/s1/[0-9a-f]{64}-[A-Za-z0-9_.-]+$", u));
            Assert.Contains(uris, u => u.EndsWith("-my_notes__1_.txt", StringComparison.Ordinal));
            Assert.Contains(uris, u => u.EndsWith("-r_sum_.txt", StringComparison.Ordinal));
            Assert.Contains(uris, u => u.EndsWith("-_draft_.md", StringComparison.Ordinal));
            Assert.Contains(uris, u => u.EndsWith("-__.txt", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
