using System.Net;
using System.Text;
using System.Xml;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>The lean listing (ListObjectsV2 without the SDK): exact keys, pages, R2's url encoding, retries, errors.</summary>
[Collection(S3rverCollection.Name)]
public sealed class LeanListTests
{
    private readonly S3rverProcess _s3rver;

    public LeanListTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task Keys_with_spaces_plus_signs_percent_signs_and_unicode_are_listed_exactly()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var names = new[] { "a b.txt", "a+b.txt", "100%.txt", "naïve café €/日本語.bin", "x=1&y=2;z.txt", "tilde~star*(1).txt" };
        foreach (var name in names)
        {
            await ctx.PutRawAsync(ctx.Prefix + name, name);
        }

        var listed = await ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None);

        Assert.Equal(names.Select(n => ctx.Prefix + n).OrderBy(k => k, StringComparer.Ordinal), listed.Select(o => o.Key).OrderBy(k => k, StringComparer.Ordinal));
        var plus = listed.Single(o => o.Key.EndsWith("a+b.txt", StringComparison.Ordinal));
        Assert.Equal(7, plus.Size);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes("a+b.txt"))), plus.ETag);
        Assert.NotNull(plus.LastModified);
        Assert.Equal(1, ctx.Store.Requests.List);
    }

    [Fact]
    public async Task A_prefix_with_reserved_characters_lists_only_its_own_keys()
    {
        using var ctx = new SyncTestContext(_s3rver);
        await ctx.PutRawAsync(ctx.Prefix + "my docs+1/a.txt", "a");
        await ctx.PutRawAsync(ctx.Prefix + "my docs 1/b.txt", "b");

        var listed = await ctx.Store.ListAsync(ctx.Prefix + "my docs+1/", CancellationToken.None);

        Assert.Equal(new[] { ctx.Prefix + "my docs+1/a.txt" }, listed.Select(o => o.Key));
    }

    [Fact]
    public void A_url_encoded_answer_as_R2_gives_it_is_decoded_as_form_encoding()
    {
        var xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>b</Name><Prefix>p%2F</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
              <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>
              <NextContinuationToken>tok/en+=</NextContinuationToken>
              <Contents><Key>p/a+b%2Bc.txt</Key><LastModified>2026-11-25T10:00:00.000Z</LastModified>
                <ETag>"0CC175B9C0F1B6A831C399E269772661"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>
              <Contents><Key>p/caf%C3%A9%0A.txt</Key><LastModified>2026-11-25T10:00:00.000Z</LastModified>
                <ETag>"9e107d9d372bb6826bd81d3542a419d6-3"</ETag><Size>17000000</Size></Contents>
            </ListBucketResult>
            """;

        var page = R2ObjectStore.ParseListPage(new MemoryStream(Encoding.UTF8.GetBytes(xml)));

        Assert.Equal(new[] { "p/a b+c.txt", "p/café\n.txt" }, page.Objects.Select(o => o.Key));
        Assert.Equal("0cc175b9c0f1b6a831c399e269772661", page.Objects[0].ETag);
        Assert.True(page.Objects[1].IsMultipartETag);
        Assert.Equal(17_000_000, page.Objects[1].Size);
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero), page.Objects[0].LastModified);
        Assert.True(page.IsTruncated);
        Assert.Equal("tok/en+=", page.NextContinuationToken);
    }

    [Fact]
    public void Without_an_encoding_type_keys_are_taken_as_they_are()
    {
        var xml = "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/a+b%2B.txt</Key><Size>3</Size><ETag>&quot;x&quot;</ETag></Contents></ListBucketResult>";

        var page = R2ObjectStore.ParseListPage(new MemoryStream(Encoding.UTF8.GetBytes(xml)));

        Assert.Equal("p/a+b%2B.txt", Assert.Single(page.Objects).Key);
        Assert.False(page.IsTruncated);
    }

    [Theory]
    [InlineData("<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/a</Key><Size>3</Size>")]
    [InlineData("<ListBucketResult><Contents><Size>3</Size></Contents></ListBucketResult>")]
    [InlineData("<Error><Code>AccessDenied</Code></Error>")]
    [InlineData("<!DOCTYPE x [<!ENTITY e \"boom\">]><ListBucketResult><Contents><Key>&e;</Key></Contents></ListBucketResult>")]
    public void A_cut_off_or_foreign_answer_is_an_error_not_a_shorter_listing(string xml)
    {
        Assert.ThrowsAny<XmlException>(() => R2ObjectStore.ParseListPage(new MemoryStream(Encoding.UTF8.GetBytes(xml))));
    }

    [Fact]
    public async Task A_listing_cut_off_mid_body_is_retried_and_then_complete()
    {
        var cuts = new ListCuts { Times = 2 };
        using var ctx = new SyncTestContext(_s3rver, o => { o.MaxRetries = 3; var inner = o.HandlerHook!; o.HandlerHook = h => new CutHandler(cuts, inner(h)); });
        var keys = Enumerable.Range(0, 30).Select(i => $"{ctx.Prefix}k{i:00}").ToList();
        foreach (var k in keys)
        {
            await ctx.PutRawAsync(k, "x");
        }

        var listed = await ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None);

        Assert.Equal(keys, listed.Select(o => o.Key).OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(3, cuts.Lists);
        Assert.Equal(1, ctx.Store.Requests.List);
    }

    [Fact]
    public async Task A_refused_listing_fails_with_the_s3_error_code_and_is_not_retried()
    {
        var cuts = new ListCuts { Deny = true };
        using var ctx = new SyncTestContext(_s3rver, o => { o.MaxRetries = 3; var inner = o.HandlerHook!; o.HandlerHook = h => new CutHandler(cuts, inner(h)); });

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None));

        Assert.Equal("AccessDenied", ex.Code);
        Assert.Equal(403, ex.StatusCode);
        Assert.Equal(1, cuts.Lists);
    }

    [Fact]
    public async Task A_sync_of_small_files_makes_no_aws_sdk_request()
    {
        // The listing and the small PUTs are the module's own requests (their User-Agent says so): a sync of
        // small files never needs the SDK, and a no-op re-sync is one listing.
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("d/b.txt", "bb");
        var (first, _) = await ctx.SyncAsync();
        Assert.Equal(2, first.FilesUploaded);
        Assert.Equal(new[] { "LIST", "PUT", "PUT" }, ctx.Wire.ToString().Split(',').Order());
        Assert.All(ctx.Wire.UserAgents, ua => Assert.StartsWith("ChittyConnect/", ua));
        ctx.Wire.Clear();

        var (again, _) = await ctx.SyncAsync();

        Assert.Equal(0, again.FilesHashed);
        Assert.Equal("LIST", ctx.Wire.ToString());
        Assert.All(ctx.Wire.UserAgents, ua => Assert.StartsWith("ChittyConnect/", ua));
    }

    private sealed class ListCuts
    {
        private int _lists;

        public int Times { get; init; }
        public bool Deny { get; init; }
        public int Lists => _lists;

        public int Next() => Interlocked.Increment(ref _lists);
    }

    // Cuts the first listings' bodies in half (a connection lost mid-answer), or refuses every listing.
    private sealed class CutHandler : DelegatingHandler
    {
        private readonly ListCuts _cuts;

        public CutHandler(ListCuts cuts, HttpMessageHandler inner) : base(inner) => _cuts = cuts;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method != HttpMethod.Get || !request.RequestUri!.Query.Contains("list-type=2", StringComparison.Ordinal))
            {
                return await base.SendAsync(request, cancellationToken);
            }

            var n = _cuts.Next();
            if (_cuts.Deny)
            {
                var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
                return new HttpResponseMessage(HttpStatusCode.Forbidden) { Content = new StringContent(xml, Encoding.UTF8, "application/xml") };
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (n <= _cuts.Times)
            {
                var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                response.Content = new ByteArrayContent(body, 0, body.Length / 2);
            }

            return response;
        }
    }
}
