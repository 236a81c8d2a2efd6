using System.Collections;
using System.Management.Automation;
using System.Text;
using Amazon.Runtime;
using ChittyConnect.Configuration;
using ChittyConnect.PowerShell.Commands;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.BadInput;

/// <summary>
/// The bad-input catalogue (docs/bad-input.md) for Sync-ChittyFolder against s3rver: each case gets a clear
/// error (or a documented mapping) and nothing is lost: local files stay, remote objects stay, nothing
/// half-written is left under a final name.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncBadInputTests : SyncCmdletTest
{
    public SyncBadInputTests(S3rverProcess s3rver)
        : base(s3rver, "badsync") => File.WriteAllText(Path.Combine(Folder, "a.txt"), "alpha");

    private ChittyConnection Connection(Action<ChittyConnectionSettings>? configure = null)
    {
        var settings = S3rver.Settings();
        configure?.Invoke(settings);
        return new ChittyConnection(settings);
    }

    private static string Id(ErrorRecord record) => record.FullyQualifiedErrorId.Split(',')[0];

    [Theory]
    [InlineData("-Transfers 0", "Transfers")]
    [InlineData("-Transfers -3", "Transfers")]
    [InlineData("-Transfers 65", "Transfers")]
    [InlineData("-BandwidthLimit -1", "BandwidthLimit")]
    [InlineData("-MaxDelete -2", "MaxDelete")]
    [InlineData("-Exclude ''", "Exclude")]
    public async Task Zero_negative_or_empty_limits_are_refused_naming_the_parameter_and_nothing_is_sent(string arguments, string parameter)
    {
        var result = Sync("$folder " + arguments);
        var record = result.SingleError();
        Assert.StartsWith("ParameterArgumentValidationError", record.FullyQualifiedErrorId);
        Assert.Contains(parameter, record.Exception.Message);
        Assert.Empty(await RemoteKeysAsync());
    }

    [Fact]
    public async Task A_relative_path_is_the_folder_under_the_PowerShell_location()
    {
        var result = Ps.Run("param($conn, $root, $prefix) Push-Location $root; try { Sync-ChittyFolder folder -Connection $conn -Prefix $prefix -NoReport -Summary -StateDirectory (Join-Path $root state) } finally { Pop-Location }",
            new Hashtable { ["conn"] = Connection(), ["root"] = Root, ["prefix"] = Prefix });
        Assert.Empty(result.Errors);
        Assert.Equal(Folder, SummaryOf(result).LocalPath);
        Assert.Equal(new[] { "a.txt" }, await RemoteKeysAsync());
    }

    [Fact]
    public async Task Symlink_loops_and_links_in_the_folder_are_skipped_and_the_rest_syncs()
    {
        Directory.CreateDirectory(Path.Combine(Folder, "sub"));
        File.CreateSymbolicLink(Path.Combine(Folder, "sub", "self"), Path.Combine(Folder, "sub", "self"));
        Directory.CreateSymbolicLink(Path.Combine(Folder, "sub", "up"), Folder);
        var result = Sync("$folder -Summary");
        Assert.Empty(result.Errors);
        Assert.Equal(new[] { "a.txt" }, await RemoteKeysAsync());
        Assert.Single(result.Warnings, w => w.Contains("'sub/up' is a link", StringComparison.Ordinal));
        Assert.Single(result.Warnings, w => w.Contains("'sub/self' is a link", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_bad_pattern_in_a_filter_file_names_the_file_and_line_and_nothing_is_sent()
    {
        var filters = Path.Combine(Root, "rcloneignore");
        File.WriteAllLines(filters, new[] { "# comment", "*.tmp", "{{a,b}" });
        var result = Sync("$folder -ExcludeFrom $x", extra: new Hashtable { ["x"] = filters });
        var record = result.SingleError();
        Assert.Equal("ChittyFilterSyntax", Id(record));
        Assert.Equal(ErrorCategory.ParserError, record.CategoryInfo.Category);
        Assert.Contains(filters + ":3", record.Exception.Message);
        Assert.Empty(await RemoteKeysAsync());
    }

    [Fact]
    public async Task A_missing_filter_file_is_a_path_not_found_and_nothing_is_sent()
    {
        var missing = Path.Combine(Root, "no-such-ignore");
        var record = Sync("$folder -ExcludeFrom $x", extra: new Hashtable { ["x"] = missing }).SingleError();
        Assert.Equal("ChittyPathNotFound", Id(record));
        Assert.Contains("no-such-ignore", record.Exception.Message);
        Assert.Empty(await RemoteKeysAsync());
    }

    [Theory]
    [InlineData("{\"version\":99,\"identity\":\"x\",\"files\":{}}", "version 99")]
    [InlineData("{ this is not json", "every file is hashed again")]
    [InlineData("", "every file is hashed again")]
    public async Task A_corrupt_empty_or_future_version_state_warns_rehashes_and_sends_nothing_again(string state, string warning)
    {
        var first = Sync("$folder -Summary");
        Assert.Empty(first.Errors);
        var statePath = SummaryOf(first).StatePath!;
        File.WriteAllText(statePath, state);
        var second = Sync("$folder -Summary");
        Assert.Empty(second.Errors);
        Assert.Contains(second.Warnings, w => w.Contains(warning, StringComparison.Ordinal) && w.Contains(statePath, StringComparison.Ordinal));
        var summary = SummaryOf(second);
        Assert.Equal(1, summary.FilesSkipped);
        Assert.Equal(0, summary.Requests.Put);
        Assert.Equal(1, summary.FilesHashed);
        Assert.Equal(new[] { "a.txt" }, await RemoteKeysAsync());
    }

    [Fact]
    public void A_bucket_that_does_not_exist_is_a_storage_error_naming_it_and_the_folder_is_untouched()
    {
        var bucket = "no-such-bucket-" + Guid.NewGuid().ToString("N")[..6];
        var result = Sync("$folder", Connection(s => s.Bucket = bucket));
        var record = result.SingleError();
        Assert.Equal("ChittyStorageError", Id(record));
        Assert.Equal(ErrorCategory.ObjectNotFound, record.CategoryInfo.Category);
        Assert.Contains("NoSuchBucket", record.Exception.Message);
        Assert.Contains($"The bucket '{bucket}' does not exist", record.Exception.Message);
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(Folder, "a.txt")));
    }

    [Fact]
    public async Task An_unknown_access_key_id_is_an_authentication_error_and_never_shows_the_secret()
    {
        var result = Sync("$folder -Verbose -Debug", Connection(s =>
        {
            s.R2AccessKeyId = "NOT-A-KEY";
            s.R2SecretAccessKey = new ChittySecret("r2-secret-do-not-print");
        }));
        AssertStoreRefusedTheKeyWithoutShowingTheSecret(result, "InvalidAccessKeyId", "r2-secret-do-not-print");
        Assert.Empty(await RemoteKeysAsync());
    }

    [Fact]
    public async Task A_wrong_secret_that_the_store_refuses_is_an_authentication_error_and_never_shows_the_secret()
    {
        // s3rver checks SigV4 requests' access key id but not their signature, so R2's answer to a wrong
        // secret comes from a stub: 403 SignatureDoesNotMatch, as R2 and S3 send it.
        const string Xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your secret access key and signing method.</Message></Error>";
        await using var stub = new LoopbackHttpStub(_ => new StubResponse(403, Xml, "application/xml"));
        var result = Sync("$folder -Verbose -Debug", Connection(s =>
        {
            s.R2Endpoint = stub.BaseUri;
            s.R2SecretAccessKey = new ChittySecret("r2-wrong-secret-do-not-print");
        }));
        AssertStoreRefusedTheKeyWithoutShowingTheSecret(result, "SignatureDoesNotMatch", "r2-wrong-secret-do-not-print");
        Assert.All(stub.Requests, r => Assert.DoesNotContain("r2-wrong-secret-do-not-print", string.Join("\n", r.Headers.Values)));
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(Folder, "a.txt")));
    }

    [Fact]
    public async Task Keys_with_characters_no_file_name_can_hold_are_refused_the_rest_downloads_and_nothing_is_deleted()
    {
        await PutAsync("good.txt", "good");
        await PutAsync("colon:name.txt", "c");
        await PutAsync("back\\slash.txt", "b");
        await PutAsync("tab\tname.txt", "t");
        File.WriteAllText(Path.Combine(Folder, "local-only.txt"), "keep me");
        var result = Sync("$folder -Direction Download -Summary");
        var refused = result.Errors.Where(e => Id(e) == "ChittySyncDownloadFailed").ToList();
        Assert.Equal(3, refused.Count);
        Assert.All(refused, e => Assert.Equal(ErrorCategory.SecurityError, e.CategoryInfo.Category));
        Assert.Contains(refused, e => e.Exception.Message.Contains("colon:name.txt", StringComparison.Ordinal));
        Assert.Contains(refused, e => e.Exception.Message.Contains("back\\slash.txt", StringComparison.Ordinal));
        // local-only.txt is not the sync's: no delete is even planned for it.
        Assert.DoesNotContain(result.Errors, e => Id(e) == "ChittySyncDeletesWithheld");
        Assert.Equal("good", File.ReadAllText(Path.Combine(Folder, "good.txt")));
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(Folder, "local-only.txt")));
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(Folder, "a.txt")));
        Assert.Equal(new[] { "a.txt", "good.txt", "local-only.txt" }, Directory.GetFiles(Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Keys_valid_on_this_os_but_not_on_windows_follow_the_os_rule()
    {
        var names = new[] { "star*.txt", "what?.txt", "angle<.txt", "pipe|.txt", "dot.", "space ", "CON.txt" };
        foreach (var name in names)
        {
            await PutAsync(name, name);
        }

        await PutAsync("a.txt", "alpha");
        var result = Sync("$folder -Direction Download -Summary");
        if (OperatingSystem.IsWindows())
        {
            Assert.Equal(names.Length, result.Errors.Count(e => Id(e) == "ChittySyncDownloadFailed"));
            Assert.Equal(new[] { "a.txt" }, Directory.GetFiles(Folder).Select(Path.GetFileName));
        }
        else
        {
            // Linux and macOS file names hold these characters: each object lands under its own name, byte for byte.
            Assert.Empty(result.Errors);
            foreach (var name in names)
            {
                Assert.Equal(name, File.ReadAllText(Path.Combine(Folder, name)));
            }
        }
    }

    [Fact]
    public async Task Keys_differing_only_by_case_download_as_two_files_on_a_case_sensitive_file_system()
    {
        await PutAsync("Report.txt", "upper");
        await PutAsync("report.txt", "lower");
        await PutAsync("a.txt", "alpha");
        var result = Sync("$folder -Direction Download -Summary");
        Assert.Empty(result.Errors);
        Assert.Equal("upper", File.ReadAllText(Path.Combine(Folder, "Report.txt")));
        Assert.Equal("lower", File.ReadAllText(Path.Combine(Folder, "report.txt")));
        Assert.Equal(2, SummaryOf(result).FilesDownloaded);
    }

    [Fact]
    public async Task A_file_name_near_the_255_byte_limit_round_trips_and_leaves_no_partial_file()
    {
        // 230 bytes: the longest s3rver can store (it appends "._S3rver_metadata.json"); the download's
        // temporary name must not add enough to pass 255.
        var name = new string('n', 226) + ".txt";
        File.WriteAllText(Path.Combine(Folder, name), "long");
        Assert.Empty(Sync("$folder").Errors);
        File.Delete(Path.Combine(Folder, name));
        var result = Sync("$folder -Direction Download -Summary");
        Assert.Empty(result.Errors);
        Assert.Equal("long", File.ReadAllText(Path.Combine(Folder, name)));
        Assert.Empty(Directory.GetFiles(Folder, "*.chittypart", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task A_deep_path_longer_than_260_characters_uploads_and_downloads()
    {
        var deep = string.Join("/", Enumerable.Range(0, 12).Select(i => $"folder-number-{i:00}-with-a-long-name"));
        var relative = deep + "/" + new string('f', 200) + ".txt";
        Assert.True(Path.Combine(Folder, relative).Length > 260);
        var full = Path.Combine(Folder, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, "deep");
        Assert.Empty(Sync("$folder").Errors);
        Assert.Contains(relative, await RemoteKeysAsync());
        Directory.Delete(Folder, recursive: true);
        Directory.CreateDirectory(Folder);
        var down = Sync("$folder -Direction Download -Summary");
        Assert.Empty(down.Errors);
        Assert.Equal("deep", File.ReadAllText(full));
    }

    [Fact]
    public async Task A_key_over_1024_bytes_is_refused_before_sending_and_the_rest_uploads()
    {
        // R2 and S3 refuse keys over 1,024 bytes (KeyTooLongError); the sync says so per file instead of sending it.
        var relative = string.Join("/", Enumerable.Range(0, 6).Select(i => $"{i}-" + new string('é', 90))) + "/x.txt";
        Assert.True(Encoding.UTF8.GetByteCount(Prefix + relative) > 1024);
        var full = Path.Combine(Folder, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, "too long a key");
        var result = Sync("$folder -Summary");
        var record = result.SingleError();
        Assert.Equal("ChittySyncUploadFailed", Id(record));
        Assert.Contains("1,024", record.Exception.Message);
        Assert.Equal(full, record.TargetObject);
        Assert.Equal(new[] { "a.txt" }, await RemoteKeysAsync());
        Assert.Equal("too long a key", File.ReadAllText(full));
    }

    [Theory]
    [InlineData("../escape/")]
    [InlineData("./here/")]
    [InlineData("a/../b")]
    public async Task APrefix_with_a_dot_segment_is_refused_before_anything_is_sent(string tail)
    {
        var result = Sync("$folder -Summary", extra: new Hashtable { ["prefix"] = Prefix + tail });
        var record = result.SingleError();
        Assert.Equal("ChittySyncInvalidOptions", Id(record));
        Assert.Equal(ErrorCategory.InvalidArgument, record.CategoryInfo.Category);
        Assert.Contains("'.' or '..'", record.Exception.Message);
        Assert.Empty(await RemoteKeysAsync());
    }

    [Fact]
    public async Task A_folder_where_an_object_should_land_fails_that_object_and_keeps_the_folder()
    {
        await PutAsync("a.txt", "alpha");
        await PutAsync("clash", "object");
        Directory.CreateDirectory(Path.Combine(Folder, "clash"));
        File.WriteAllText(Path.Combine(Folder, "clash", "inside.txt"), "inside");
        await PutAsync("clash/inside.txt", "inside");
        var result = Sync("$folder -Direction Download -Summary");
        var record = result.SingleError();
        Assert.Equal("ChittySyncDownloadFailed", Id(record));
        Assert.Contains("is a folder", record.Exception.Message);
        Assert.Equal("inside", File.ReadAllText(Path.Combine(Folder, "clash", "inside.txt")));
    }

    [Fact]
    public async Task A_log_file_in_a_folder_that_does_not_exist_is_a_path_error_before_anything_is_sent()
    {
        var log = Path.Combine(Root, "no-such-dir", "sync.log");
        var record = Sync("$folder -LogFile $x", extra: new Hashtable { ["x"] = log }).SingleError();
        Assert.Equal("ChittyPathNotFound", Id(record));
        Assert.Contains("no-such-dir", record.Exception.Message);
        Assert.Empty(await RemoteKeysAsync());
    }

    // A ListObjectsV2 page of objects whose content is their own name.
    private string ListPage(bool truncated, string? token, params string[] names)
    {
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        xml.Append($"<Name>b</Name><Prefix>{Prefix}</Prefix><KeyCount>{names.Length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>{(truncated ? "true" : "false")}</IsTruncated>");
        if (token is not null)
        {
            xml.Append($"<NextContinuationToken>{token}</NextContinuationToken>");
        }

        foreach (var name in names)
        {
            xml.Append($"<Contents><Key>{Prefix}{name}</Key><LastModified>2026-11-25T10:00:00.000Z</LastModified><ETag>\"{Md5Hex(name)}\"</ETag><Size>{name.Length}</Size></Contents>");
        }

        return xml.Append("</ListBucketResult>").ToString();
    }

    private static string Md5Hex(string text) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(text)));

    [Theory]
    [InlineData("Download", false)]
    [InlineData("Upload", false)]
    [InlineData("Download", true)]
    [InlineData("Upload", true)]
    public async Task A_listing_that_says_more_follows_without_a_new_token_fails_the_sync_and_nothing_is_deleted_on_either_side(string direction, bool repeatedToken)
    {
        File.WriteAllText(Path.Combine(Folder, "b.txt"), "bravo");
        File.WriteAllText(Path.Combine(Folder, "c.txt"), "charlie");
        // A store that lists x.txt, says more objects follow, and then gives no token (or the same one again).
        await using var stub = new LoopbackHttpStub(r =>
        {
            if (r.Method == "GET" && r.Target.Contains("list-type=2", StringComparison.Ordinal))
            {
                return new StubResponse(200, r.Target.Contains("continuation-token=", StringComparison.Ordinal)
                    ? ListPage(true, "t1", "y.txt")
                    : ListPage(true, repeatedToken ? "t1" : null, "x.txt"), "application/xml");
            }

            var name = r.Target.Split('?')[0].Split('/').Last();
            return r.Method switch
            {
                "GET" or "HEAD" => new StubResponse(200, name, "application/octet-stream", new Dictionary<string, string> { ["ETag"] = $"\"{Md5Hex(name)}\"" }),
                "PUT" => new StubResponse(200, string.Empty, "text/plain", new Dictionary<string, string> { ["ETag"] = $"\"{Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(r.Body))}\"" }),
                _ => new StubResponse(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></DeleteResult>", "application/xml"),
            };
        });

        var result = Sync($"$folder -Direction {direction}", Connection(s => s.R2Endpoint = stub.BaseUri));

        var record = result.SingleError();
        Assert.Equal("ChittyStorageError", Id(record));
        Assert.Equal(ErrorCategory.InvalidResult, record.CategoryInfo.Category);
        Assert.Contains("listing", record.Exception.Message);
        Assert.Contains("incomplete", record.Exception.Message);
        // Nothing is deleted on either side, whatever the window.
        Assert.Subset(Directory.GetFiles(Folder).Select(Path.GetFileName).ToHashSet(StringComparer.Ordinal), new HashSet<string?>(new[] { "a.txt", "b.txt", "c.txt" }, StringComparer.Ordinal));
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(Folder, "a.txt")));
        Assert.DoesNotContain(stub.Requests, r => r.Method == "DELETE" || (r.Method == "POST" && r.Target.Contains("delete", StringComparison.Ordinal)));
        if (new SyncOptions().WindowKeys >= 3)
        {
            // The whole folder and listing fit one window: the listing fails before anything is planned, so
            // nothing but the listing was asked for. (A first sync in smaller windows transfers a window's files
            // while the listing goes on, as it must to hold a window and not the folder.)
            Assert.Equal(new[] { "a.txt", "b.txt", "c.txt" }, Directory.GetFiles(Folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.DoesNotContain(stub.Requests, r => r.Method != "GET" || !r.Target.Contains("list-type=2", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("Upload", 1)]
    [InlineData("Both", 1)]
    [InlineData("Upload", 3)]
    public async Task A_store_that_refuses_conditional_writes_gets_no_more_uploads_after_the_first_refusal_and_one_error_saying_what_to_do(string direction, int transfers)
    {
        foreach (var name in new[] { "b", "c", "d", "e", "f" })
        {
            File.WriteAllText(Path.Combine(Folder, name + ".txt"), "content of " + name);
        }

        // An empty prefix, and 501 NotImplemented to every PUT that carries If-Match or If-None-Match.
        const string NotImplemented = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NotImplemented</Code><Message>A header you provided implies functionality that is not implemented.</Message></Error>";
        await using var stub = new LoopbackHttpStub(r =>
            r.Method == "GET" ? new StubResponse(200, ListPage(false, null), "application/xml")
            : r.Method == "PUT" && (r.Header("If-None-Match") ?? r.Header("If-Match")) is not null ? new StubResponse(501, NotImplemented, "application/xml")
            : new StubResponse(400, string.Empty, "text/plain"));

        var result = Sync($"$folder -Direction {direction} -Transfers {transfers} -Summary", Connection(s => s.R2Endpoint = stub.BaseUri));

        // One error for the run, however many uploads were under way when the store refused.
        var record = result.SingleError();
        Assert.Equal("ChittySyncUploadFailed", Id(record));
        Assert.Equal(ErrorCategory.NotImplemented, record.CategoryInfo.Category);
        Assert.Contains("does not support conditional writes", record.Exception.Message);
        Assert.Contains("501 NotImplemented", record.Exception.Message);
        Assert.Contains("If-None-Match", record.ErrorDetails.RecommendedAction);
        var summary = SummaryOf(result);
        Assert.Equal((0, 1, 5), (summary.FilesUploaded, summary.Errors, summary.UploadsNotSent));
        Assert.Contains(result.Warnings, w => w.StartsWith("5 more file(s) were not uploaded", StringComparison.Ordinal));
        // No PUT after the refusal: only those already under way (one at a time: exactly one) were sent.
        Assert.InRange(stub.Requests.Count(r => r.Method == "PUT"), 1, transfers);
        Assert.DoesNotContain(stub.Requests, r => r.Method is "DELETE" or "POST");
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(Folder, "a.txt")));
        Assert.Equal("content of f", File.ReadAllText(Path.Combine(Folder, "f.txt")));
    }

    [Fact]
    public async Task A_store_that_is_down_is_named_in_the_error_and_nothing_is_changed()
    {
        // A port nothing listens on: every connection is refused.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var down = new Uri($"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}");
        listener.Stop();

        var record = Sync("$folder -RetryTimeoutSec 1", Connection(s => s.R2Endpoint = down)).SingleError();

        Assert.Equal("ChittyStorageError", Id(record));
        Assert.Equal(ErrorCategory.ConnectionError, record.CategoryInfo.Category);
        Assert.Contains($"at {down.GetLeftPart(UriPartial.Authority)} failed", record.Exception.Message);
        Assert.Contains("Test-ChittyConnection", record.ErrorDetails.RecommendedAction);
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(Folder, "a.txt")));
        Assert.Empty(await RemoteKeysAsync());
    }

    [Fact]
    public async Task A_local_name_with_a_control_character_is_refused_at_the_scan_naming_it_and_the_rest_uploads()
    {
        File.WriteAllText(Path.Combine(Folder, "bad\u0001name.txt"), "control");

        var result = Sync("$folder -Summary");

        Assert.Contains(result.Warnings, w => w.Contains("bad\\u0001name.txt", StringComparison.Ordinal) && w.Contains("U+0001", StringComparison.Ordinal));
        Assert.Equal(1, SummaryOf(result).Errors);
        Assert.Equal(new[] { "a.txt" }, await RemoteKeysAsync());
        Assert.Equal("control", File.ReadAllText(Path.Combine(Folder, "bad\u0001name.txt")));
    }

    // The one error of a refused R2 key: a storage error of the authentication category naming the store's
    // code, with the secret in no output of the run.
    private static void AssertStoreRefusedTheKeyWithoutShowingTheSecret(PowerShellResult result, string code, string secret)
    {
        var record = result.SingleError();
        Assert.Equal("ChittyStorageError", Id(record));
        Assert.Equal(ErrorCategory.AuthenticationError, record.CategoryInfo.Category);
        Assert.Contains(code, record.Exception.Message);
        Assert.DoesNotContain(secret, result.AllText());
    }
}
