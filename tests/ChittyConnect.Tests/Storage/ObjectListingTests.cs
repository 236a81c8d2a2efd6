using System.Net;
using System.Text;
using System.Xml;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>The listing (ListObjectsV2): exact keys, pages, R2's url encoding, retries, errors.</summary>
[Collection(S3rverCollection.Name)]
public sealed class ObjectListingTests
{
    private readonly S3rverProcess _s3rver;

    public ObjectListingTests(S3rverProcess s3rver) => _s3rver = s3rver;

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
    public async Task A_listing_cut_off_mid_body_is_retried_and_then_complete()
    {
        var cuts = new ListCuts { Times = 2 };
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, h => new CutHandler(cuts, h));
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
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, h => new CutHandler(cuts, h));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None));

        Assert.Equal("AccessDenied", ex.Code);
        Assert.Equal(403, ex.StatusCode);
        Assert.Equal(1, cuts.Lists);
    }

    [Fact]
    public async Task A_sync_of_small_files_makes_one_put_each_and_its_no_op_re_sync_one_listing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("d/b.txt", "bb");
        var (first, _) = await ctx.SyncAsync();
        Assert.Equal(2, first.FilesUploaded);
        Assert.Equal(new[] { "LIST", "PUT", "PUT" }, ctx.Wire.ToString().Split(',').Order());
        ctx.Wire.Clear();

        var (again, _) = await ctx.SyncAsync();

        Assert.Equal(0, again.FilesHashed);
        Assert.Equal("LIST", ctx.Wire.ToString());
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
                response.Content = new StreamContent(new CutStream(body, body.Length / 2));
            }

            return response;
        }
    }

    // The answer's bytes up to the cut, then the error a reset connection gives.
    private sealed class CutStream : MemoryStream
    {
        private readonly int _cut;

        public CutStream(byte[] body, int cut) : base(body) => _cut = cut;

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Position >= _cut)
            {
                throw new IOException("The response ended prematurely (connection reset).");
            }

            return base.Read(buffer, offset, (int)Math.Min(count, _cut - Position));
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer, offset, count));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var array = new byte[buffer.Length];
            var read = Read(array, 0, array.Length);
            array.AsSpan(0, read).CopyTo(buffer.Span);
            return ValueTask.FromResult(read);
        }
    }
}
