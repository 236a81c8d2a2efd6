using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>One row of tests/TwoWay/scenarios.json (the table rclone bisync is cross-checked on, too).</summary>
public sealed class TwoWayScenario
{
    public required string Name { get; init; }

    /// <summary>Synced to both sides first; null: a first run.</summary>
    public Dictionary<string, string>? Base { get; init; }

    /// <summary>Written (a string) or deleted (null) on each side before the run.</summary>
    public required Dictionary<string, string?> Local { get; init; }

    public required Dictionary<string, string?> Remote { get; init; }

    public required Dictionary<string, string> ExpectLocal { get; init; }

    public required Dictionary<string, string> ExpectRemote { get; init; }

    public required Dictionary<string, string> ExpectActions { get; init; }

    public override string ToString() => Name;

    public static IReadOnlyList<TwoWayScenario> Load()
    {
        var path = Path.Combine(S3rverProcess.RepoRoot(), "tests", "TwoWay", "scenarios.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.GetProperty("scenarios").EnumerateArray().Select(s =>
        {
            var expect = s.GetProperty("expect");
            return new TwoWayScenario
            {
                Name = s.GetProperty("name").GetString()!,
                Base = s.GetProperty("base").ValueKind == JsonValueKind.Null ? null : Strings(s.GetProperty("base")),
                Local = NullableStrings(s.GetProperty("local")),
                Remote = NullableStrings(s.GetProperty("remote")),
                ExpectLocal = Strings(expect.GetProperty("local")),
                ExpectRemote = Strings(expect.GetProperty("remote")),
                ExpectActions = Strings(expect.GetProperty("actions")),
            };
        }).ToList();
    }

    private static Dictionary<string, string> Strings(JsonElement e) => e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);

    private static Dictionary<string, string?> NullableStrings(JsonElement e) => e.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString(), StringComparer.Ordinal);
}

/// <summary>
/// The two-way scenario table, one test per row: the run's actions, both trees after it, and convergence
/// (a second run does nothing, reads no file and sends only the listing).
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class TwoWayScenarioTests
{
    private readonly S3rverProcess _s3rver;

    public TwoWayScenarioTests(S3rverProcess s3rver) => _s3rver = s3rver;

    public static IEnumerable<object[]> Names() => TwoWayScenario.Load().Select(s => new object[] { s.Name });

    [Fact]
    public void The_table_has_at_least_twenty_scenarios_with_distinct_names()
    {
        var names = TwoWayScenario.Load().Select(s => s.Name).ToList();
        Assert.True(names.Count >= 20, $"{names.Count} scenarios");
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Scenario(string name)
    {
        var scenario = TwoWayScenario.Load().Single(s => s.Name == name);
        using var ctx = new SyncTestContext(_s3rver);
        void Both(SyncOptions o) => o.Direction = SyncDirection.Both;
        if (scenario.Base is not null)
        {
            foreach (var pair in scenario.Base)
            {
                ctx.Write(pair.Key, pair.Value);
            }

            var (first, firstResults) = await ctx.SyncAsync(Both);
            Assert.True(first.Success, string.Join("; ", firstResults.Select(r => r.Error)));
            Assert.All(firstResults, r => Assert.Equal(SyncAction.Uploaded, r.Action));
        }

        await ApplyAsync(ctx, scenario);

        var (summary, results) = await ctx.SyncAsync(Both);

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(
            scenario.ExpectActions.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}: {p.Value}"),
            results.Select(r => $"{r.RelativePath}: {r.Action}"));
        AssertTree(scenario.ExpectLocal, LocalTree(ctx), "local");
        AssertTree(scenario.ExpectRemote, (await ctx.RemoteContentAsync()).ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value)), "remote");
        foreach (var conflict in results.Where(r => r.Action == SyncAction.Conflict && r.ConflictPath is not null))
        {
            Assert.Contains(".conflict-local-", conflict.ConflictPath);
        }

        var (again, againResults) = await ctx.SyncAsync(Both);
        Assert.Empty(againResults);
        Assert.True(again.Success);
        Assert.Equal(0, again.BytesHashed);
        Assert.Equal(1, again.Requests.Total);
        Assert.Equal(1, ctx.Wire.Count("LIST"));
    }

    private static async Task ApplyAsync(SyncTestContext ctx, TwoWayScenario scenario)
    {
        // Later than the baseline, as an edit would be, so a same-size edit is not hidden by an equal stat.
        var later = DateTime.UtcNow.AddMinutes(1);
        foreach (var (rel, content) in scenario.Local)
        {
            var path = Path.Combine(ctx.Local, rel.Replace('/', Path.DirectorySeparatorChar));
            if (content is null)
            {
                File.Delete(path);
            }
            else
            {
                ctx.Write(rel, content);
                File.SetLastWriteTimeUtc(path, later);
            }
        }

        foreach (var (rel, content) in scenario.Remote)
        {
            if (content is null)
            {
                await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + rel);
            }
            else
            {
                await ctx.PutRawAsync(ctx.Prefix + rel, content);
            }
        }
    }

    internal static Dictionary<string, string> LocalTree(SyncTestContext ctx) =>
        Directory.EnumerateFiles(ctx.Local, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(ctx.Local, f).Replace(Path.DirectorySeparatorChar, '/'), f => File.ReadAllText(f), StringComparer.Ordinal);

    // Expected names may hold '*' (a conflict copy's time stamp); each matches exactly one actual file.
    private static void AssertTree(Dictionary<string, string> expected, Dictionary<string, string> actual, string side)
    {
        var unmatched = new Dictionary<string, string>(actual, StringComparer.Ordinal);
        foreach (var (pattern, content) in expected)
        {
            var regex = new Regex("^" + Regex.Escape(pattern).Replace("\\*", "[0-9TZ]+") + "$");
            var match = unmatched.Keys.Where(k => regex.IsMatch(k)).ToList();
            Assert.True(match.Count == 1, $"{side}: '{pattern}' matches {match.Count} files of {string.Join(", ", actual.Keys)}");
            Assert.True(content == unmatched[match[0]], $"{side}: '{match[0]}' holds '{unmatched[match[0]]}', expected '{content}'");
            unmatched.Remove(match[0]);
        }

        Assert.True(unmatched.Count == 0, $"{side}: unexpected files {string.Join(", ", unmatched.Keys)}");
    }
}
