using System.Text;
using System.Web;
using System.Xml.Linq;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// The listing in start-after ranges at once (<see cref="RangedListing"/>): whatever the split points, it
/// gives exactly the flat listing, on buckets that rclone and the AWS CLI filled.
/// </summary>
public sealed class RangedListingTests
{
    // Keys (relative to a prefix) that sort in awkward places: "a-b" before the folder "a/", "a0" after it,
    // characters escaped in URLs and XML, and U+FF21 (FULLWIDTH A) against a character beyond U+FFFF, which
    // UTF-16 orders the other way round from UTF-8. Beside them 2,200 keys under bulk/, so that ranges hold
    // more than one page of 1,000.
    internal static readonly string[] OddNames =
    [
        "a b+c%.txt", "a-b.txt", "a/x.txt", "a0.txt", "naïve café/€.bin", "x=1&y=2;z.txt", "tilde~(1).txt", "UPPER.txt",
        "日本語/ファイル.txt", "\uFF21.txt", "\U0001F600.txt",
    ];

    private const int BulkKeys = 2200;

    internal static IEnumerable<string> Names() => OddNames.Concat(Enumerable.Range(0, BulkKeys).Select(i => $"bulk/f{i:0000}.txt"));

    // Split point sets, each relative to the prefix ("" is the prefix itself: before every key under it).
    internal static IEnumerable<string[]> SplitSets() =>
    [
        // One key in the middle: two ranges of more than 1,000 keys each.
        ["bulk/f1100.txt"],
        // Points that are no key, between keys.
        ["bulk/f0500.txt!", "bulk/f1700.txt~"],
        // An empty range between a key and the point just after it, with nothing between.
        ["a-b.txt", "a-b.txt0", "bulk/f0999.txt"],
        // Before every key, between ranges of one key, after every key (empty first and last ranges).
        ["", "zzz", "\uFF21.txt", "\U0010FFFF"],
        // The most ranges, around and inside bulk/.
        ["a/x.txt", "a0.txt", "bulk/f0001.txt", "bulk/f0300.txt", "bulk/f1200.txt", "bulk/f2199.txt", "naïve café/€.bin"],
    ];

    [Fact]
    public void Keys_are_ordered_by_their_utf8_bytes()
    {
        var random = new Random(5);
        var alphabet = new[] { "a", "/", "-", "0", "é", "\uFF21", "\uE000", "\uD7FF", "\U0001F600", "\U00010000", "~" };
        var keys = Enumerable.Range(0, 2000).Select(_ => string.Concat(Enumerable.Range(0, random.Next(0, 5)).Select(_ => alphabet[random.Next(alphabet.Length)]))).ToList();

        var byBytes = keys.OrderBy(k => Encoding.UTF8.GetBytes(k), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();

        Assert.Equal(byBytes, keys.OrderBy(k => k, RangedListing.KeyOrder));
        Assert.True(RangedListing.CompareKeys("\uFF21", "\U0001F600") < 0);
        Assert.True(string.CompareOrdinal("\uFF21", "\U0001F600") > 0);
    }

    [Fact]
    public void The_split_points_cut_the_known_keys_into_ranges_of_about_equal_size()
    {
        var keys = Enumerable.Range(0, 100_000).Select(i => $"p/d{i % 1000:0000}/f{i / 1000:0000}").ToList();

        var points = RangedListing.SplitPoints(keys, keys.Count);

        Assert.Equal(RangedListing.MaxRanges - 1, points.Count);
        var sorted = keys.OrderBy(k => k, RangedListing.KeyOrder).ToList();
        var bounds = points.Select(p => sorted.BinarySearch(p, RangedListing.KeyOrder)).Prepend(-1).Append(sorted.Count - 1).ToList();
        var sizes = bounds.Zip(bounds.Skip(1), (a, b) => b - a).ToList();
        Assert.All(sizes, size => Assert.InRange(size, 100_000 / 8 * 3 / 4, 100_000 / 8 * 5 / 4));
        Assert.Empty(RangedListing.SplitPoints(keys.Take(2 * RangedListing.MinKeysPerRange - 1), 2 * RangedListing.MinKeysPerRange - 1));
    }

    [Fact]
    public async Task Split_points_out_of_order_are_refused_before_any_request()
    {
        var calls = 0;

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => RangedListing.ListAsync(["b", "a"], (_, _, _) =>
        {
            calls++;
            return Task.FromResult(new RemoteListing([], inKeyOrder: true));
        }, CancellationToken.None));

        Assert.Contains("ascend", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task A_range_that_fails_cancels_the_others_and_its_own_error_is_thrown()
    {
        var cancelled = 0;

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => RangedListing.ListAsync(["k1", "k2", "k3"], async (startAfter, _, token) =>
        {
            if (startAfter == "k2")
            {
                await Task.Delay(50, CancellationToken.None);
                throw new ObjectStoreException("range k2..k3 refused", "k2", "AccessDenied");
            }

            try
            {
                await Task.Delay(Timeout.Infinite, token);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref cancelled);
                throw;
            }

            return new RemoteListing([], inKeyOrder: true);
        }, CancellationToken.None));

        Assert.Equal("AccessDenied", ex.Code);
        Assert.Equal(3, cancelled);
    }

    /// <summary>A bucket on s3rver that rclone filled.</summary>
    [Collection(S3rverCollection.Name)]
    public sealed class OnS3rver
    {
        private readonly S3rverProcess _s3rver;

        public OnS3rver(S3rverProcess s3rver) => _s3rver = s3rver;

        [Fact]
        public async Task Every_split_gives_exactly_the_flat_listing_of_a_bucket_rclone_filled()
        {
            var prefix = "ranged-" + Guid.NewGuid().ToString("N")[..8] + "/";
            using var source = new TemporaryTree(Names());
            using var rclone = new RcloneTool();
            rclone.AddS3("s3", _s3rver.Endpoint, S3rverProcess.AccessKey, S3rverProcess.SecretKey);
            rclone.Run("copy", "--transfers", "16", "--checkers", "16", source.Root, $"s3:{_s3rver.Bucket}/{prefix}");
            using var store = S3rverStores.Create(_s3rver.Settings(), new R2StoreOptions());

            // s3rver walks its folders, so it lists "a/x.txt" before "a b+c%.txt", out of R2's key order: the
            // ranges notice and the key space is listed in one range, as s3rver orders it.
            await AssertEveryRangingIsTheFlatListingAsync(store, prefix, inKeyOrder: false);
        }
    }

    /// <summary>A bucket on the benchmark's lean stand-in (bench/s3-lean.js) that the AWS CLI filled.</summary>
    public sealed class OnLeanStandIn : IClassFixture<LeanS3Process>
    {
        private readonly LeanS3Process _lean;

        public OnLeanStandIn(LeanS3Process lean) => _lean = lean;

        [Fact]
        public async Task Every_split_gives_exactly_the_flat_listing_of_a_bucket_the_aws_cli_filled()
        {
            var prefix = "ranged-" + Guid.NewGuid().ToString("N")[..8] + "/";
            using var source = new TemporaryTree(Names());
            using (var cli = new AwsCliTool(_lean.Endpoint))
            {
                cli.Run("s3", "sync", "--only-show-errors", source.Root, $"s3://{_lean.Bucket}/{prefix}");
            }

            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions());

            await AssertEveryRangingIsTheFlatListingAsync(store, prefix, inKeyOrder: true);
        }

        [Fact]
        public async Task An_encrypted_prefix_split_at_plaintext_keys_lists_what_rclone_crypt_wrote_as_one_listing_does()
        {
            var prefix = "crypt-" + Guid.NewGuid().ToString("N")[..8] + "/";
            var names = Enumerable.Range(0, 40).Select(i => $"d{i % 3}/file {i:00}.txt").ToList();
            using var source = new TemporaryTree(names);
            using var rclone = new RcloneTool();
            rclone.AddS3("s3", _lean.Endpoint, S3rverProcess.AccessKey, S3rverProcess.SecretKey);
            rclone.AddCrypt("secret", $"s3:{_lean.Bucket}/{prefix}", "ranges");
            rclone.Run("copy", source.Root, "secret:");
            using var inner = S3rverStores.Create(_lean.Settings(), new R2StoreOptions());
            using var staging = new TemporaryTree([]);
            using var store = new ChittyConnect.Crypt.EncryptedObjectStore(inner, prefix, ChittyConnect.Crypt.RcloneCryptKey.Derive(new ChittyConnect.Configuration.ChittySecret("ranges")),
                ChittyConnect.Crypt.RcloneNameEncryption.Standard, staging.Root);
            var flat = await store.ListAsync(prefix, CancellationToken.None);
            Assert.Equal(names.Select(n => prefix + n).Order(StringComparer.Ordinal), flat.Select(o => o.Key).Order(StringComparer.Ordinal));
            var listsBefore = inner.Requests.List;

            var ranged = await store.ListAsync(prefix, [prefix + names[5], prefix + names[17], prefix + "d1/not a file.txt", prefix + names[31]], CancellationToken.None);

            Assert.Equal(Describe(flat), Describe(ranged));
            Assert.Equal(5, inner.Requests.List - listsBefore);
        }

        [Fact]
        public async Task A_re_sync_lists_in_ranges_and_sends_exactly_the_objects_another_tool_removed()
        {
            using var ctx = new ChittyConnect.Tests.Sync.SyncTestContext(_lean);
            const int files = 2 * RangedListing.MinKeysPerRange + 100;
            static string Name(int i) => $"d{i % 7}/f{i:00000}.txt";
            for (var i = 0; i < files; i++)
            {
                ctx.Write(Name(i), "x");
            }

            var (first, _) = await ctx.SyncAsync();
            Assert.Equal(files, first.FilesUploaded);
            await ctx.Store.DeleteAsync([ctx.Prefix + Name(0), ctx.Prefix + Name(4012)], CancellationToken.None);
            var listsBefore = ctx.Store.Requests.List;
            var headsBefore = ctx.Store.Requests.Head;

            var (again, results) = await ctx.SyncAsync();

            Assert.Equal(new[] { Name(0), Name(4012) }, results.Where(r => r.Action == SyncAction.Uploaded).Select(r => r.RelativePath).Order(StringComparer.Ordinal));
            Assert.Equal(files - 2, again.FilesSkipped);
            // Three ranges of whole pages as the state knows the keys (2,000, 2,000 and 100): five pages, as one
            // listing takes; the two known keys they did not list are confirmed gone by a HEAD each.
            Assert.Equal(2, ctx.Wire.StartAfters.Distinct().Count());
            Assert.Equal(5, ctx.Store.Requests.List - listsBefore);
            Assert.Equal(2, ctx.Store.Requests.Head - headsBefore);
        }

        [Fact]
        public async Task A_store_that_lists_out_of_key_order_across_a_page_boundary_has_every_key_listed_and_nothing_deleted()
        {
            // s3rver's order: it walks its folders, so the 3,000 keys of d/ fill the first three pages and
            // d.txt, which key order puts before all of them, opens the fourth; the first range, which ends in
            // d/, stops on the third page and never meets d.txt.
            using var ctx = new ChittyConnect.Tests.Sync.SyncTestContext(_lean, wrapHandler: inner => new FolderWalkListing(inner));
            const int inD = 3000;
            const int inE = 2 * RangedListing.MinKeysPerRange - inD + 200;
            const int total = inD + inE + 1;
            for (var i = 0; i < inD; i++)
            {
                ctx.Write($"d/f{i:0000}.txt", "d");
            }

            for (var i = 0; i < inE; i++)
            {
                ctx.Write($"e/f{i:0000}.txt", "e");
            }

            static void Both(SyncOptions o) => o.Direction = SyncDirection.Both;
            var (first, _) = await ctx.SyncAsync(Both);
            Assert.Equal(total - 1, first.FilesUploaded);
            ctx.Write("d.txt", "added next to the folder d");
            var listsBefore = ctx.Store.Requests.List;

            // The last listing came in key order: this one is in ranges, and d.txt, new, is uploaded.
            var (second, _) = await ctx.SyncAsync(Both);

            Assert.Equal(1, second.FilesUploaded);
            var rangedPages = ctx.Store.Requests.List - listsBefore;
            Assert.True(ctx.Wire.StartAfters.Count > 0, $"{rangedPages} pages, none after a split point: the re-sync was not listed in ranges.");
            listsBefore = ctx.Store.Requests.List;

            // The ranges miss d.txt, which the state knows: the prefix is listed again from the start.
            var (third, results) = await ctx.SyncAsync(Both);

            Assert.Equal(0, third.FilesDeleted);
            Assert.Equal(0, third.FilesDownloaded + third.FilesUploaded);
            Assert.Equal(total, third.FilesSkipped);
            Assert.DoesNotContain(results, r => r.Action is SyncAction.Deleted or SyncAction.DeletedLocal or SyncAction.DeletedRemote);
            Assert.True(File.Exists(Path.Combine(ctx.Local, "d.txt")));
            Assert.NotNull(await ctx.Store.HeadAsync(ctx.Prefix + "d.txt", CancellationToken.None));
            // The flat listing's five pages, after the ranges' pages read until d.txt was missed (all of them
            // where the plan is whole; a streamed plan stops at the window that misses it).
            Assert.InRange(ctx.Store.Requests.List - listsBefore, 5 + 1, rangedPages + 5);
            listsBefore = ctx.Store.Requests.List;

            // That listing showed the store's order is not the key order: from now on one range from the start.
            var (fourth, _) = await ctx.SyncAsync(Both);

            Assert.Equal(total, fourth.FilesSkipped);
            Assert.Equal(5, ctx.Store.Requests.List - listsBefore);
        }
    }

    private static async Task AssertEveryRangingIsTheFlatListingAsync(R2ObjectStore store, string prefix, bool inKeyOrder)
    {
        var flat = await store.ListAsync(prefix, CancellationToken.None);
        // The flat listing holds what the other tool wrote; R2 (and the stand-in) list by UTF-8 bytes.
        var expected = Names().Select(n => prefix + n).OrderBy(k => k, RangedListing.KeyOrder).ToList();
        Assert.Equal(expected, inKeyOrder ? flat.Select(o => o.Key) : flat.Select(o => o.Key).OrderBy(k => k, RangedListing.KeyOrder));
        Assert.Equal(inKeyOrder, flat.Select(o => o.Key).SequenceEqual(expected));
        Assert.Equal(inKeyOrder, flat.InKeyOrder);
        Assert.Equal(3, store.Requests.List);

        foreach (var set in SplitSets())
        {
            var splits = set.Select(s => prefix + s).ToList();
            var listsBefore = store.Requests.List;

            var ranged = await store.ListAsync(prefix, splits, CancellationToken.None);

            Assert.Equal(Describe(flat), Describe(ranged));
            if (inKeyOrder)
            {
                Assert.True(store.Requests.List - listsBefore >= splits.Count + 1, $"{splits.Count + 1} ranges were listed in {store.Requests.List - listsBefore} requests.");
            }
        }
    }

    internal static IEnumerable<string> Describe(IEnumerable<RemoteObject> listing) => listing.Select(o => $"{o.Key} {o.Size} {o.ETag} {o.LastModified:O}");

    /// <summary>
    /// Answers ListObjectsV2 as s3rver orders it, walking folders (the keys of "d/" before "d.txt", which key
    /// order puts first), from the objects the store behind holds: start-after compared as S3 compares it, in
    /// pages of max-keys with a continuation token. A real out-of-order answer whose disorder a page boundary
    /// can hide from a range.
    /// </summary>
    internal sealed class FolderWalkListing(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private static readonly XNamespace S3 = "http://s3.amazonaws.com/doc/2006-03-01/";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method != HttpMethod.Get || !request.RequestUri!.Query.Contains("list-type=2", StringComparison.Ordinal))
            {
                return await base.SendAsync(request, cancellationToken);
            }

            var query = HttpUtility.ParseQueryString(request.RequestUri.Query);
            var prefix = query["prefix"] ?? string.Empty;
            var objects = new List<XElement>();
            string? token = null;
            do
            {
                var uri = new UriBuilder(request.RequestUri) { Query = "list-type=2&prefix=" + Uri.EscapeDataString(prefix) + (token is null ? string.Empty : "&continuation-token=" + Uri.EscapeDataString(token)) }.Uri;
                using var whole = await base.SendAsync(new HttpRequestMessage(HttpMethod.Get, uri), cancellationToken);
                var page = XDocument.Parse(await whole.Content.ReadAsStringAsync(cancellationToken)).Root!;
                var ns = page.Name.Namespace;
                objects.AddRange(page.Elements(ns + "Contents").Select(c => new XElement(S3 + "Contents", c.Elements().Select(e => new XElement(S3 + e.Name.LocalName, e.Value)))));
                token = page.Element(ns + "IsTruncated")?.Value == "true" ? page.Element(ns + "NextContinuationToken")?.Value : null;
            }
            while (token is not null);

            var walk = objects.Select(o => o.Element(S3 + "Key")!.Value).ToList();
            walk.Sort(FolderWalkOrder);
            var byKey = objects.ToDictionary(o => o.Element(S3 + "Key")!.Value, StringComparer.Ordinal);
            var startAfter = query["start-after"];
            var from = query["continuation-token"] is { } next ? int.Parse(next, System.Globalization.CultureInfo.InvariantCulture) : 0;
            var maxKeys = int.Parse(query["max-keys"] ?? "1000", System.Globalization.CultureInfo.InvariantCulture);
            var after = walk.Where(k => startAfter is null || string.CompareOrdinal(k, startAfter) > 0).ToList();
            var keys = after.Skip(from).Take(maxKeys).ToList();
            var truncated = from + keys.Count < after.Count;
            var answer = new XElement(S3 + "ListBucketResult",
                new XElement(S3 + "Name", "bucket"), new XElement(S3 + "Prefix", prefix), new XElement(S3 + "KeyCount", keys.Count),
                new XElement(S3 + "MaxKeys", maxKeys), new XElement(S3 + "IsTruncated", truncated ? "true" : "false"),
                truncated ? new XElement(S3 + "NextContinuationToken", (from + keys.Count).ToString(System.Globalization.CultureInfo.InvariantCulture)) : null,
                keys.Select(k => byKey[k]));
            return new HttpResponseMessage(System.Net.HttpStatusCode.OK) { Content = new StringContent(new XDocument(new XDeclaration("1.0", "UTF-8", null), answer).ToString(), Encoding.UTF8, "application/xml") };
        }

        // Folder by folder, each folder's names in ordinal order, a folder's keys where its name falls.
        private static int FolderWalkOrder(string a, string b)
        {
            var x = a.Split('/');
            var y = b.Split('/');
            for (var i = 0; i < Math.Min(x.Length, y.Length); i++)
            {
                var c = string.CompareOrdinal(x[i], y[i]);
                if (c != 0)
                {
                    return c;
                }
            }

            return x.Length - y.Length;
        }
    }

    // A folder holding a file of one byte (the name's length) for each '/'-separated name.
    internal sealed class TemporaryTree : IDisposable
    {
        public TemporaryTree(IEnumerable<string> names)
        {
            Root = Directory.CreateTempSubdirectory("chitty-ranged-").FullName;
            foreach (var name in names)
            {
                var path = Path.Combine(Root, name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, [(byte)name.Length]);
            }
        }

        public string Root { get; }

        public void Dispose() => Directory.Delete(Root, recursive: true);
    }
}
