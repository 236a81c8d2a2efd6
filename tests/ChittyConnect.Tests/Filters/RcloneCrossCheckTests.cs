using ChittyConnect.Filters;
using Xunit;

namespace ChittyConnect.Tests.Filters;

/// <summary>Selections and rule lists compared with what rclone 1.60.1 produced for the same flags.</summary>
public sealed class RcloneCrossCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("chitty-filters-").FullName;

    public static TheoryData<string> ScenarioNames()
    {
        var data = new TheoryData<string>();
        foreach (var scenario in RcloneCrossCheckData.Scenarios)
        {
            data.Add(scenario.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void PruningWalkSelectsWhatRcloneListed(string name)
    {
        var scenario = Find(name);
        var rules = Build(scenario);

        var selected = VirtualTree.Walk(RcloneCrossCheckData.Tree, rules);

        Assert.Equal(scenario.Expected.OrderBy(p => p, StringComparer.Ordinal), selected);
    }

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void FlatListingSelectsWhatRcloneListed(string name)
    {
        var scenario = Find(name);
        var rules = Build(scenario);

        var selected = RcloneCrossCheckData.Tree.Where(rules.IncludeFileAndParents).OrderBy(p => p, StringComparer.Ordinal);

        Assert.Equal(scenario.Expected.OrderBy(p => p, StringComparer.Ordinal), selected);
    }

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public void RuleListMatchesRcloneDumpFilters(string name)
    {
        var scenario = Find(name);

        Assert.Equal(scenario.Dump, Build(scenario).Describe());
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static RcloneCrossCheckData.Scenario Find(string name) =>
        RcloneCrossCheckData.Scenarios.Single(s => s.Name == name);

    private FilterRules Build(RcloneCrossCheckData.Scenario scenario)
    {
        var builder = new FilterRulesBuilder(ignoreCase: scenario.Steps.Any(s => s.Kind == "ignore-case"));
        var n = 0;
        foreach (var (kind, value) in scenario.Steps)
        {
            string File()
            {
                var path = Path.Combine(_dir, $"{scenario.Name}-{n++}.txt");
                System.IO.File.WriteAllText(path, value);
                return path;
            }

            _ = kind switch
            {
                "include" => builder.AddInclude(value),
                "exclude" => builder.AddExclude(value),
                "filter" => builder.AddFilterLine(value),
                "include-from" => builder.AddIncludeFrom(File()),
                "exclude-from" => builder.AddExcludeFrom(File()),
                "filter-from" => builder.AddFilterFrom(File()),
                "ignore-case" => builder,
                _ => throw new InvalidOperationException(kind),
            };
        }

        return builder.Build();
    }
}

/// <summary>Walks a list of file paths as a directory tree, skipping excluded directories, as a scanner does.</summary>
internal static class VirtualTree
{
    public static List<string> Walk(IEnumerable<string> files, FilterRules rules)
    {
        var selected = new List<string>();
        WalkDirectory(string.Empty, files.ToList(), rules, selected);
        selected.Sort(StringComparer.Ordinal);
        return selected;
    }

    private static void WalkDirectory(string directory, List<string> below, FilterRules rules, List<string> selected)
    {
        var prefix = directory.Length == 0 ? string.Empty : directory + "/";
        foreach (var group in below.GroupBy(p => p.IndexOf('/', prefix.Length) is var slash and >= 0 ? p.Substring(0, slash) : null))
        {
            if (group.Key is null)
            {
                selected.AddRange(group.Where(rules.IncludeFile));
            }
            else if (rules.IncludeDirectory(group.Key))
            {
                WalkDirectory(group.Key, group.ToList(), rules, selected);
            }
        }
    }
}
