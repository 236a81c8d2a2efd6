using System.Text;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>DeleteObjects: exact keys, batches of 1,000, the keys the store refused.</summary>
[Collection(S3rverCollection.Name)]
public sealed class ObjectDeleteTests
{
    private readonly S3rverProcess _s3rver;

    public ObjectDeleteTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task Keys_with_xml_and_url_special_characters_are_deleted_and_nothing_else()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var doomed = new[] { "a&b<c>.txt", "quote\"'s.txt", "naïve café/€ 1+1=2%.txt", "]]>.txt" };
        foreach (var name in doomed.Append("keep me.txt"))
        {
            await ctx.PutRawAsync(ctx.Prefix + name, name);
        }

        var failures = await ctx.Store.DeleteAsync(doomed.Select(n => ctx.Prefix + n).ToList(), CancellationToken.None);

        Assert.Empty(failures);
        Assert.Equal(new[] { ctx.Prefix + "keep me.txt" }, (await ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None)).Select(o => o.Key));
        Assert.Equal(1, ctx.Store.Requests.Delete);
    }
}
