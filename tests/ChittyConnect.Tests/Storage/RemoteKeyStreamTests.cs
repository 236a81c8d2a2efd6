using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using Xunit;
using static ChittyConnect.Tests.Storage.RangedListingTests;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// The listing as a stream (<see cref="RemoteKeyStream"/>): the objects <see cref="RangedListing.ListAsync"/>
/// gives, in its order, on buckets other tools filled, with a few pages per range held at most.
/// </summary>
public sealed class RemoteKeyStreamTests
{
    private static async Task<List<RemoteObject>> ReadAllAsync(RemoteKeyStream stream)
    {
        var objects = new List<RemoteObject>();
        while (await stream.NextAsync() is { } o)
        {
            objects.Add(o);
        }

        return objects;
    }

    private static string NewPrefix() => "stream-" + Guid.NewGuid().ToString("N")[..8] + "/";

    /// <summary>A bucket on the benchmark's lean stand-in (bench/s3-lean.js), lists in key order, filled by the AWS CLI.</summary>
    public sealed class OnLeanStandIn : IClassFixture<LeanS3Process>
    {
        private readonly LeanS3Process _lean;

        public OnLeanStandIn(LeanS3Process lean) => _lean = lean;

        [Fact]
        public async Task Every_split_streams_exactly_the_ranged_listing_of_a_bucket_the_aws_cli_filled()
        {
            var prefix = Fill(Names());
            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions());
            var flat = await store.ListAsync(prefix, CancellationToken.None);
            Assert.True(flat.Count > 2000);

            foreach (var set in SplitSets().Prepend([]))
            {
                var splits = set.Select(s => prefix + s).ToList();
                var listed = await store.ListAsync(prefix, splits, CancellationToken.None);
                await using var stream = RemoteKeyStream.Open(store, prefix, splits, CancellationToken.None);

                var streamed = await ReadAllAsync(stream);

                Assert.Equal(Describe(listed), Describe(streamed));
                Assert.Equal(Describe(flat), Describe(streamed));
                Assert.Equal(splits.Count + 1, stream.Ranges);
                Assert.True(stream.InKeyOrder);
                Assert.Null(await stream.NextAsync());
            }
        }

        [Fact]
        public async Task A_reader_that_stops_holds_each_range_to_its_buffered_pages()
        {
            // Two ranges of 60 keys in pages of 5: twelve pages each.
            var names = Enumerable.Range(0, 120).Select(i => $"f{i:000}.txt").ToList();
            var prefix = Fill(names);
            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions { ListPageKeys = 5 });
            await using var stream = RemoteKeyStream.Open(store, prefix, [prefix + "f059.txt"], CancellationToken.None);

            Assert.Equal(prefix + "f000.txt", (await stream.NextAsync())!.Key);

            // The first range's reader took its first page: that one, the buffered pages and the one waiting
            // for room were asked for; the second range, not yet read, holds its buffer and one waiting.
            var bound = RemoteKeyStream.BufferedPages + 2 + RemoteKeyStream.BufferedPages + 1;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (store.Requests.List < bound && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            await Task.Delay(300);
            Assert.Equal(bound, store.Requests.List);
            Assert.Throws<InvalidOperationException>(() => stream.InKeyOrder);

            var rest = await ReadAllAsync(stream);

            Assert.Equal(names.Skip(1).Select(n => prefix + n), rest.Select(o => o.Key));
            Assert.True(stream.InKeyOrder);
            Assert.InRange(store.Requests.List, 24, 25);
        }

        [Fact]
        public async Task Of_many_ranges_it_lists_the_readers_and_the_next_ones_and_starts_one_as_each_ends()
        {
            // Twenty ranges of 6 keys in pages of 5: two pages each.
            var names = Enumerable.Range(0, 120).Select(i => $"f{i:000}.txt").ToList();
            var prefix = Fill(names);
            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions { ListPageKeys = 5 });
            var splits = Enumerable.Range(1, 19).Select(r => prefix + names[6 * r - 1]).ToList();
            await using var stream = RemoteKeyStream.Open(store, prefix, splits, CancellationToken.None);

            Assert.Equal(prefix + "f000.txt", (await stream.NextAsync())!.Key);

            // The first eight ranges are listed whole (they fit their buffers); the twelve after them not at all.
            var bound = RemoteKeyStream.ActiveRanges * 2;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (store.Requests.List < bound && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            await Task.Delay(300);
            Assert.Equal(bound, store.Requests.List);

            var rest = await ReadAllAsync(stream);

            Assert.Equal(names.Skip(1).Select(n => prefix + n), rest.Select(o => o.Key));
            Assert.True(stream.InKeyOrder);
            Assert.Equal(20, stream.Ranges);
            Assert.Equal(40, store.Requests.List);
        }

        [Fact]
        public async Task Cancelled_mid_stream_it_throws_and_lists_no_further_page()
        {
            var prefix = Fill(Enumerable.Range(0, 60).Select(i => $"f{i:000}.txt"));
            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions { ListPageKeys = 5 });
            using var cancel = new CancellationTokenSource();
            var stream = RemoteKeyStream.Open(store, prefix, [prefix + "f029.txt"], cancel.Token);
            for (var i = 0; i < 7; i++)
            {
                Assert.NotNull(await stream.NextAsync());
            }

            cancel.Cancel();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await stream.NextAsync());
            await stream.DisposeAsync();
            await stream.DisposeAsync();
            var lists = store.Requests.List;
            await Task.Delay(200);
            Assert.Equal(lists, store.Requests.List);
            Assert.True(lists < 12, $"{lists} pages of 12 were listed.");
        }

        [Fact]
        public void Split_points_out_of_order_are_refused_before_any_request()
        {
            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions());

            var ex = Assert.Throws<ArgumentException>(() => RemoteKeyStream.Open(store, "p/", ["p/b", "p/a"], CancellationToken.None));

            Assert.Contains("ascend", ex.Message, StringComparison.Ordinal);
            Assert.Equal(0, store.Requests.List);
        }

        [Fact]
        public void Split_points_that_are_not_keys_under_the_prefix_are_refused_before_any_request()
        {
            // Relative paths (the state's keys) given as split points would cut the key space outside the prefix:
            // every key in one range, listed one page after the other, and nothing would say so.
            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions());

            var ex = Assert.Throws<ArgumentException>(() => RemoteKeyStream.Open(store, "p/", ["p/a.txt", "m.txt"], CancellationToken.None));

            Assert.Contains("'m.txt'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("under the prefix 'p/'", ex.Message, StringComparison.Ordinal);
            Assert.Equal(0, store.Requests.List);
        }

        [Fact]
        public void An_encrypted_prefix_is_refused_with_the_listing_to_use_instead()
        {
            using var inner = S3rverStores.Create(_lean.Settings(), new R2StoreOptions());
            using var staging = new TemporaryTree([]);
            using var store = new ChittyConnect.Crypt.EncryptedObjectStore(inner, "crypt/", ChittyConnect.Crypt.RcloneCryptKey.Derive(new ChittyConnect.Configuration.ChittySecret("stream")),
                ChittyConnect.Crypt.RcloneNameEncryption.Standard, staging.Root);

            var ex = Assert.Throws<NotSupportedException>(() => RemoteKeyStream.Open(store, "crypt/", [], CancellationToken.None));

            Assert.Contains("list it whole with ListAsync", ex.Message, StringComparison.Ordinal);
            Assert.Equal(0, inner.Requests.List);
        }

        [Fact]
        public async Task A_store_that_lists_folder_by_folder_streams_as_it_lists_without_split_points_and_throws_with_them()
        {
            // Walked folder by folder, d/'s keys come before d.txt, which key order puts first.
            var names = Enumerable.Range(0, 12).Select(i => $"d/f{i:00}.txt").Append("d.txt").Concat(Enumerable.Range(0, 5).Select(i => $"e/f{i:00}.txt")).ToList();
            var prefix = Fill(names);
            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions { ListPageKeys = 5 }, wrapHandler: inner => new FolderWalkListing(inner));
            var flat = await store.ListAsync(prefix, CancellationToken.None);

            await using (var whole = RemoteKeyStream.Open(store, prefix, [], CancellationToken.None))
            {
                var streamed = await ReadAllAsync(whole);

                Assert.Equal(names.Select(n => prefix + n), streamed.Select(o => o.Key));
                Assert.Equal(Describe(flat), Describe(streamed));
                Assert.False(whole.InKeyOrder);
                Assert.Equal(1, whole.Ranges);
            }

            // The first range meets d.txt after d/f11.txt on its third page.
            string[] splits = [prefix + "e/f01.txt"];
            await using var ranged = RemoteKeyStream.Open(store, prefix, splits, CancellationToken.None);

            var ex = await Assert.ThrowsAsync<RangedListing.OutOfOrderException>(() => ReadAllAsync(ranged));

            Assert.Contains("'" + prefix + "d.txt' after '" + prefix + "d/f11.txt'", ex.Message, StringComparison.Ordinal);
            // Where the listing whole lists again in one range.
            Assert.Equal(Describe(flat), Describe(await store.ListAsync(prefix, splits, CancellationToken.None)));
        }

        [Fact]
        public async Task A_store_that_ignores_start_after_has_the_ranged_stream_throw_and_never_yields_a_key_twice()
        {
            // A store (or a proxy) that drops start-after lists every range from the start: the second range's
            // first keys are the first range's, which a stream that trusted the store would give twice.
            var names = Enumerable.Range(0, 20).Select(i => $"f{i:000}.txt").ToList();
            var prefix = Fill(names);
            using var store = S3rverStores.Create(_lean.Settings(), new R2StoreOptions { ListPageKeys = 5 }, wrapHandler: inner => new IgnoresStartAfter(inner));
            string[] splits = [prefix + "f009.txt"];

            await using var stream = RemoteKeyStream.Open(store, prefix, splits, CancellationToken.None);
            var seen = new List<string>();
            var ex = await Assert.ThrowsAsync<RangedListing.OutOfOrderException>(async () =>
            {
                while (await stream.NextAsync() is { } o)
                {
                    seen.Add(o.Key);
                }
            });

            Assert.Contains("'" + prefix + "f000.txt'", ex.Message, StringComparison.Ordinal);
            Assert.Contains("'" + prefix + "f009.txt'", ex.Message, StringComparison.Ordinal);
            Assert.Equal(seen.Distinct(StringComparer.Ordinal), seen);
            // The whole listing lists such a store again in one range: each key once.
            var listed = await store.ListAsync(prefix, splits, CancellationToken.None);
            Assert.Equal(names.Select(n => prefix + n), listed.Select(o => o.Key));
        }

        private string Fill(IEnumerable<string> names)
        {
            var prefix = NewPrefix();
            using var source = new TemporaryTree(names);
            using var cli = new AwsCliTool(_lean.Endpoint);
            cli.Run("s3", "sync", "--only-show-errors", source.Root, $"s3://{_lean.Bucket}/{prefix}");
            return prefix;
        }
    }

    // Drops start-after from every listing request, as a store that does not know the parameter does.
    private sealed class IgnoresStartAfter(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query);
            if (query["start-after"] is not null)
            {
                query.Remove("start-after");
                request.RequestUri = new UriBuilder(request.RequestUri) { Query = query.ToString() }.Uri;
            }

            return base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>A bucket on s3rver, which walks its folders as it lists, filled by rclone.</summary>
    [Collection(S3rverCollection.Name)]
    public sealed class OnS3rver
    {
        private readonly S3rverProcess _s3rver;

        public OnS3rver(S3rverProcess s3rver) => _s3rver = s3rver;

        [Fact]
        public async Task Without_split_points_it_streams_s3rvers_order_and_with_them_it_throws()
        {
            var prefix = NewPrefix();
            using (var source = new TemporaryTree(OddNames))
            {
                using var rclone = new RcloneTool();
                rclone.AddS3("s3", _s3rver.Endpoint, S3rverProcess.AccessKey, S3rverProcess.SecretKey);
                rclone.Run("copy", source.Root, $"s3:{_s3rver.Bucket}/{prefix}");
            }

            using var store = S3rverStores.Create(_s3rver.Settings(), new R2StoreOptions());
            var flat = await store.ListAsync(prefix, CancellationToken.None);
            Assert.False(flat.InKeyOrder);
            Assert.Equal(OddNames.Select(n => prefix + n).Order(StringComparer.Ordinal), flat.Select(o => o.Key).Order(StringComparer.Ordinal));

            await using (var whole = RemoteKeyStream.Open(store, prefix, [], CancellationToken.None))
            {
                Assert.Equal(Describe(flat), Describe(await ReadAllAsync(whole)));
                Assert.False(whole.InKeyOrder);
            }

            // s3rver lists "a/x.txt" before "a b+c%.txt": the first range meets it.
            await using var ranged = RemoteKeyStream.Open(store, prefix, [prefix + "naïve café/€.bin"], CancellationToken.None);
            await Assert.ThrowsAsync<RangedListing.OutOfOrderException>(() => ReadAllAsync(ranged));
        }
    }
}
