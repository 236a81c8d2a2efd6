using System.Text;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>DeleteObjects without the SDK: exact keys, batches of 1,000, the keys the store refused.</summary>
[Collection(S3rverCollection.Name)]
public sealed class LeanDeleteTests
{
    private readonly S3rverProcess _s3rver;

    public LeanDeleteTests(S3rverProcess s3rver) => _s3rver = s3rver;

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

    [Fact]
    public void The_keys_the_store_refused_come_back_with_its_code_and_message()
    {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Deleted><Key>p/ok.txt</Key></Deleted>
              <Error><Key>p/locked &amp; held.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
              <Error><Code>InternalError</Code><Key>p/later.txt</Key></Error>
            </DeleteResult>
            """;

        var failures = R2ObjectStore.ParseDeleteResult(Encoding.UTF8.GetBytes(xml));

        Assert.Equal(2, failures.Count);
        Assert.Equal(("p/locked & held.txt", "AccessDenied", "Access Denied"), (failures[0].Key, failures[0].Code, failures[0].Message));
        Assert.Equal(("p/later.txt", "InternalError", "InternalError"), (failures[1].Key, failures[1].Code, failures[1].Message));
    }

    [Fact]
    public void The_request_body_escapes_every_key_and_asks_for_quiet_mode()
    {
        var body = Encoding.UTF8.GetString(R2ObjectStore.DeleteRequestBody(new[] { "a&b<c>.txt", "é" }));

        Assert.Contains("<Quiet>true</Quiet>", body);
        Assert.Contains("<Key>a&amp;b&lt;c&gt;.txt</Key>", body);
        Assert.Contains("<Key>é</Key>", body);
    }
}
