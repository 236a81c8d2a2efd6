using ChittyConnect.Filters;
using Xunit;

namespace ChittyConnect.Tests.Filters;

public sealed class FilterRulesTests : IDisposable
{
    // The guide's ~/.rcloneignore, verbatim.
    private const string GuideIgnoreFile = """
        # System files
        .DS_Store
        .Spotlight-V100
        .Trashes
        Thumbs.db
        desktop.ini

        # Development
        node_modules/
        .git/
        .venv/
        __pycache__/
        *.pyc
        dist/
        build/

        # Temporary files
        *.tmp
        *.temp
        *.swp
        *.log
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("chitty-filters-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // rclone's filtering documentation: "Filter pattern examples", the anchoring examples and "potato".
    // Each row: pattern, path, whether the pattern matches it. Paths are shown in the docs with a leading '/',
    // which is the root of the transfer; here they are relative.
    [Theory]
    [InlineData("*.jpg", "file.jpg", true)]
    [InlineData("*.jpg", "dir/file.jpg", true)]
    [InlineData("*.jpg", "file.png", false)]
    [InlineData("*.jpg", "dir/file.png", false)]
    [InlineData("/*.jpg", "file.jpg", true)]
    [InlineData("/*.jpg", "file2.jpg", true)]
    [InlineData("/*.jpg", "file.png", false)]
    [InlineData("/*.jpg", "dir/file.jpg", false)]
    [InlineData("*.{jpg,png}", "file.jpg", true)]
    [InlineData("*.{jpg,png}", "dir/file.png", true)]
    [InlineData("*.{jpg,png}", "file.gif", false)]
    [InlineData("*.{jpg,png}", "dir/file.gif", false)]
    [InlineData("dir/**", "dir/anyfile", true)]
    [InlineData("dir/**", "subdir/dir/subsubdir/anyfile", true)]
    [InlineData("dir/**", "file.png", false)]
    [InlineData("dir/**", "subdir/file.png", false)]
    [InlineData("*.t?t", "file.txt", true)]
    [InlineData("*.t?t", "dir/file.tzt", true)]
    [InlineData("*.t?t", "file.qxt", false)]
    [InlineData("*.t?t", "dir/file.png", false)]
    [InlineData("*.[a-z]", "file.a", true)]
    [InlineData("*.[a-z]", "dir/file.b", true)]
    [InlineData("*.[a-z]", "file.0", false)]
    [InlineData("*.[a-z]", "dir/file.1", false)]
    [InlineData(@"*.\?\?\?", "file.???", true)]
    [InlineData(@"*.\?\?\?", "dir/file.???", true)]
    [InlineData(@"*.\?\?\?", "file.abc", false)]
    [InlineData(@"*.\?\?\?", "dir/file.def", false)]
    [InlineData(@"*.\d\d\d", "file.012", true)]
    [InlineData(@"*.\d\d\d", "dir/file.345", true)]
    [InlineData(@"*.\d\d\d", "file.abc", false)]
    [InlineData(@"*.\d\d\d", "dir/file.def", false)]
    [InlineData("*.{{jpe?g}}", "file.jpeg", true)]
    [InlineData("*.{{jpe?g}}", "dir/file.jpg", true)]
    [InlineData("*.{{jpe?g}}", "file.png", false)]
    [InlineData("*.{{jpe?g}}", "dir/file.jpeeg", false)]
    [InlineData(@"/{{.*\.jpe?g}}", "file.jpeg", true)]
    [InlineData(@"/{{.*\.jpe?g}}", "file.jpg", true)]
    [InlineData(@"/{{.*\.jpe?g}}", "file.png", false)]
    [InlineData(@"/{{.*\.jpe?g}}", "dir/file.jpg", true)] // the doc table says no, but .* crosses '/': rclone 1.60 matches it too
    [InlineData("*.{{(?i)jpg}}", "file.JPG", true)]
    [InlineData("*.{{(?i)jpg}}", "file.png", false)]
    [InlineData(@"{{start[^/]*end\.jpg}}", "start-x-end.jpg", true)]
    [InlineData(@"{{start[^/]*end\.jpg}}", "start/end.jpg", false)]
    [InlineData(@"{{start.*end\.jpg}}", "start/end.jpg", true)]
    [InlineData("file.jpg", "file.jpg", true)]
    [InlineData("file.jpg", "directory/file.jpg", true)]
    [InlineData("file.jpg", "afile.jpg", false)]
    [InlineData("file.jpg", "directory/afile.jpg", false)]
    [InlineData("/file.jpg", "file.jpg", true)]
    [InlineData("/file.jpg", "afile.jpg", false)]
    [InlineData("/file.jpg", "directory/file.jpg", false)]
    [InlineData("potato", "potato", true)]
    [InlineData("potato", "POTATO", false)]
    [InlineData("/excl/**", "excl/123.jpg", true)]
    [InlineData("/excl/**", "incl/document.pdf", false)]
    [InlineData(@"*\[{JP,KR,HK}\]*", "movie [JP].mkv", true)]
    [InlineData(@"*\[{JP,KR,HK}\]*", "movie [US].mkv", false)]
    [InlineData("??[^[:punct:]]*", "abc.txt", true)]
    [InlineData("??[^[:punct:]]*", "ab.txt", false)]
    [InlineData("{A,B}/**", "A/x", true)]
    [InlineData("{A,B}/**", "C/x", false)]
    public void DocumentedPatternExamples(string pattern, string path, bool matches)
    {
        var rules = new FilterRulesBuilder().AddExclude(pattern).Build();

        Assert.Equal(!matches, rules.IncludeFile(path));
    }

    [Theory]
    [InlineData("a*", "ab/c", false)] // '*' stops at '/'
    [InlineData("a**", "ab/c", true)] // '**' does not
    [InlineData("a?c", "a/c", false)] // '?' is one non-'/' character
    [InlineData("a?c", "a😀c", true)] // ... and one code point, not one UTF-16 unit
    [InlineData("[[:alpha:]]x", "éx", false)] // ASCII classes are ASCII, as in Go
    [InlineData(@"*.\d", "file.٣", false)] // \d is ASCII digits only, as in Go
    [InlineData("a[!x]b", "a!b", true)] // rclone 1.60 passes '!' through: a class of '!' and 'x', not a negation
    [InlineData("a[!x]b", "ayb", false)]
    [InlineData("a[^x]b", "ayb", true)] // '^' negates (Go regexp class)
    [InlineData("a[^x]b", "a/b", true)] // ... and a negated class can match '/', as rclone's does
    [InlineData("{,x}y", "y", true)] // an empty alternative
    [InlineData("a,b", "a,b", true)] // ',' outside braces is literal
    [InlineData("file (1).txt", "file (1).txt", true)] // regexp metacharacters are literal
    [InlineData("a+b^c$d|e", "a+b^c$d|e", true)]
    [InlineData("caf\u00e9", "x/caf\u00e9", true)]
    [InlineData("{{\\x{1F600}}}.txt", "😀.txt", true)]
    [InlineData("{{(?P<year>\\d{4})}}-*", "2024-report", true)]
    [InlineData("{{\\Qa.b\\E}}", "a.b", true)]
    [InlineData("{{\\Qa.b\\E}}", "axb", false)]
    [InlineData("/a/**/b", "a/x/y/b", true)]
    [InlineData("/a/**/b", "z/a/x/b", false)]
    public void PatternSyntaxDetails(string pattern, string path, bool matches)
    {
        var rules = new FilterRulesBuilder().AddExclude(pattern).Build();

        Assert.Equal(!matches, rules.IncludeFile(path));
    }

    [Fact]
    public void GuideIgnoreFileSelectsLikeRclone()
    {
        var rules = new FilterRulesBuilder().AddExcludeFrom(WriteFile("rcloneignore", GuideIgnoreFile)).Build();

        Assert.False(rules.IncludeDirectory("a/node_modules"));
        Assert.False(rules.IncludeFile("a/node_modules/x.js"));
        Assert.False(rules.IncludeFile("node_modules/deep/y.js"));
        Assert.False(rules.IncludeFile("notes.log"));
        Assert.False(rules.IncludeFile("logs/today.log"));
        Assert.True(rules.IncludeFile("notes.log.txt"));
        Assert.True(rules.IncludeFile("src/build.txt"));
        Assert.True(rules.IncludeFile("lib/build")); // "build/" is directory-only
        Assert.True(rules.IncludeDirectory("src"));
        Assert.False(rules.IncludeDirectory("build"));
        Assert.False(rules.IncludeDirectory("src/build"));
        Assert.False(rules.IncludeFile("build/x"));
        Assert.False(rules.IncludeDirectory(".git"));
        Assert.False(rules.IncludeFile(".git/config"));
        Assert.True(rules.IncludeFile(".gitignore"));
        Assert.False(rules.IncludeFile("x.pyc"));
        Assert.False(rules.IncludeFile("src/__pycache__/m.pyc"));
        Assert.False(rules.IncludeDirectory("src/__pycache__"));
        Assert.False(rules.IncludeFile("Thumbs.db"));
        Assert.False(rules.IncludeFile("a/b/c/Thumbs.db"));
        Assert.False(rules.IncludeFile("docs/.notes.md.swp"));
        Assert.False(rules.IncludeFile("desktop.ini"));

        // As in rclone, ".Trashes" (no trailing '/') is a file rule: the directory itself is still walked.
        Assert.True(rules.IncludeDirectory(".Trashes"));
        Assert.True(rules.IncludeFile(".Trashes/501/x"));
    }

    [Fact]
    public void IncludesApplyBeforeExcludesWhateverTheCallOrder()
    {
        var excludeFirst = new FilterRulesBuilder().AddExclude("photos/**").AddInclude("*.jpg").Build();
        var includeFirst = new FilterRulesBuilder().AddInclude("*.jpg").AddExclude("photos/**").Build();

        foreach (var rules in new[] { excludeFirst, includeFirst })
        {
            Assert.True(rules.IncludeFile("photos/a.jpg"));
            Assert.False(rules.IncludeFile("photos/a.png"));
            Assert.False(rules.IncludeFile("notes.txt")); // the implied "exclude everything"
        }
    }

    [Fact]
    public void FilterLinesKeepTheirOrderAndDoNotImplyExcludeAll()
    {
        var rules = new FilterRulesBuilder()
            .AddFilterLine("- secret*.jpg")
            .AddFilterLine("+ *.jpg")
            .Build();

        Assert.False(rules.IncludeFile("secret1.jpg"));
        Assert.True(rules.IncludeFile("holiday.jpg"));
        Assert.True(rules.IncludeFile("notes.txt"));
    }

    [Fact]
    public void ExcludeFromFileRulesComeAfterExcludePatterns()
    {
        var file = WriteFile("ex.txt", "*.txt\n");
        var rules = new FilterRulesBuilder().AddExcludeFrom(file).AddFilterLine("+ keep.txt").AddExclude("x*").Build();

        Assert.Equal("--- File filter rules ---\n- (^|/)x[^/]*$\n- (^|/)[^/]*\\.txt$\n+ (^|/)keep\\.txt$\n--- Directory filter rules ---\n+ ^.*$\n", rules.Describe());
        Assert.False(rules.IncludeFile("keep.txt")); // the exclude-from rule matches first
    }

    [Fact]
    public void BangLineClearsEverythingBeforeIt()
    {
        var file = WriteFile("filters.txt", "+ *.jpg\n+ *.gif\n!\n+ 42.doc\n- *\n");
        var rules = new FilterRulesBuilder().AddExclude("*.doc").AddFilterFrom(file).Build();

        Assert.True(rules.IncludeFile("42.doc"));
        Assert.False(rules.IncludeFile("a.jpg"));
        Assert.False(rules.IncludeFile("43.doc"));
    }

    [Fact]
    public void BangInAnExcludeFileIsJustAPattern()
    {
        var rules = new FilterRulesBuilder().AddExcludeFrom(WriteFile("ex.txt", "*.tmp\n!\n")).Build();

        Assert.False(rules.IncludeFile("a.tmp"));
        Assert.False(rules.IncludeFile("!"));
        Assert.True(rules.IncludeFile("a.txt"));
    }

    [Fact]
    public void DirectoryOnlyPatterns()
    {
        var rules = new FilterRulesBuilder().AddExclude("cache/").AddExclude("/out/").Build();

        Assert.False(rules.IncludeDirectory("cache"));
        Assert.False(rules.IncludeDirectory("a/b/cache"));
        Assert.False(rules.IncludeFile("a/cache/x"));
        Assert.True(rules.IncludeFile("a/cache")); // a file named like the directory is kept
        Assert.False(rules.IncludeDirectory("out"));
        Assert.True(rules.IncludeDirectory("a/out")); // anchored: only at the root
        Assert.True(rules.IncludeFile("a/out/x"));
        Assert.True(rules.IncludeDirectory("")); // the root is never excluded
    }

    [Fact]
    public void IncludeOfADirectoryAloneSelectsNoFiles()
    {
        var rules = new FilterRulesBuilder().AddInclude("/photos/").Build();

        Assert.True(rules.IncludeDirectory("photos"));
        Assert.False(rules.IncludeDirectory("docs"));
        Assert.False(rules.IncludeFile("photos/a.jpg"));
    }

    [Fact]
    public void IncludeImpliesTheParentDirectoriesItNeeds()
    {
        var rules = new FilterRulesBuilder().AddInclude("/a/b/*.jpg").Build();

        Assert.True(rules.IncludeDirectory("a"));
        Assert.True(rules.IncludeDirectory("a/b"));
        Assert.False(rules.IncludeDirectory("a/c"));
        Assert.False(rules.IncludeDirectory("c"));
        Assert.True(rules.IncludeFileAndParents("a/b/x.jpg"));
        Assert.False(rules.IncludeFileAndParents("a/b/c/x.jpg"));
    }

    [Fact]
    public void IgnoreCaseMatchesAnyCase()
    {
        var sensitive = new FilterRulesBuilder().AddExclude("*.log").AddExclude("Build/").Build();
        var insensitive = new FilterRulesBuilder(ignoreCase: true).AddExclude("*.log").AddExclude("Build/").Build();

        Assert.True(sensitive.IncludeFile("APP.LOG"));
        Assert.True(sensitive.IncludeDirectory("build"));
        Assert.False(insensitive.IncludeFile("APP.LOG"));
        Assert.False(insensitive.IncludeFile("app.Log"));
        Assert.False(insensitive.IncludeDirectory("BUILD"));
        Assert.False(insensitive.IncludeFile("x/ÉTÉ.LOG"));
        Assert.True(insensitive.IncludeFile("app.txt"));
    }

    [Fact]
    public void RuleFilesSkipCommentsBlankLinesAndSurroundingWhitespace()
    {
        var file = WriteFile("ex.txt", "\uFEFF# comment\r\n; also a comment\r\n\r\n   *.bak   \r\n\t#not-a-comment-after-trim?\r\n a b \r\n");
        var rules = new FilterRulesBuilder().AddExcludeFrom(file).Build();

        Assert.False(rules.IncludeFile("x.bak"));
        Assert.False(rules.IncludeFile("a b")); // inner space kept, outer trimmed
        Assert.True(rules.IncludeFile(" a b "));
        Assert.True(rules.IncludeFile("# comment"));
        Assert.Equal(2, rules.Describe().Split('\n').Count(l => l.StartsWith("- ", StringComparison.Ordinal)));
    }

    [Fact]
    public void FilterFromLineKeepsSpacesAfterTheSign()
    {
        var rules = new FilterRulesBuilder().AddFilterFrom(WriteFile("f.txt", "-  x\n")).Build();

        Assert.False(rules.IncludeFile(" x")); // "-  x" excludes " x", as rclone reads it
        Assert.True(rules.IncludeFile("x"));
    }

    [Fact]
    public void EmptyRulesIncludeEverything()
    {
        Assert.True(FilterRules.Empty.IsEmpty);
        Assert.True(FilterRules.Empty.IncludeFile("any/thing.txt"));
        Assert.True(FilterRules.Empty.IncludeDirectory("any"));

        var fromComments = new FilterRulesBuilder().AddExcludeFrom(WriteFile("c.txt", "# only comments\n\n")).Build();
        Assert.True(fromComments.IsEmpty);
        Assert.False(new FilterRulesBuilder().AddExclude("*.x").Build().IsEmpty);
    }

    [Fact]
    public void AnEmptyIncludeFileStillExcludesEverything()
    {
        var rules = new FilterRulesBuilder().AddIncludeFrom(WriteFile("inc.txt", "# nothing yet\n")).Build();

        Assert.False(rules.IsEmpty);
        Assert.False(rules.IncludeFile("a.txt"));
    }

    [Theory]
    [InlineData("[a-", "mismatched '[' and ']'")]
    [InlineData("x]", "mismatched ']'")]
    [InlineData("x{a", "mismatched '{' and '}'")]
    [InlineData("x}", "mismatched '{' and '}'")]
    [InlineData("x{a{b}}", "can't nest")]
    [InlineData("x{{a", "mismatched '{{' and '}}'")]
    [InlineData("***", "too many stars")]
    [InlineData("{{(}}", "bad regular expression")]
    [InlineData("a[]", "bad regular expression")]
    [InlineData("[[:foo:]]", "invalid character class range")]
    [InlineData(@"{{a\1}}", "invalid escape sequence")]
    [InlineData("{{(?=a)}}", "unsupported Perl syntax")]
    [InlineData("{{a{1001}}}", "invalid repeat count")]
    [InlineData(@"{{\e}}", "invalid escape sequence")]
    public void BadPatternsAreRejectedWithTheReason(string pattern, string reason)
    {
        var ex = Assert.Throws<FilterSyntaxException>(() => new FilterRulesBuilder().AddExclude(pattern));

        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
        Assert.Equal(pattern, ex.Pattern);
        Assert.Null(ex.Source);
        Assert.Equal(0, ex.LineNumber);
        Assert.IsAssignableFrom<FormatException>(ex);
    }

    [Fact]
    public void BadPatternInAFileNamesTheFileAndLine()
    {
        var file = WriteFile("rcloneignore", "# header\n*.tmp\n\n  src/[a-z\n*.log\n");

        var ex = Assert.Throws<FilterSyntaxException>(() => new FilterRulesBuilder().AddExcludeFrom(file));

        Assert.Equal(file, ex.Source);
        Assert.Equal(4, ex.LineNumber);
        Assert.Equal("src/[a-z", ex.Pattern);
        Assert.StartsWith($"{file}:4: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("\"src/[a-z\"", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedFilterLineNamesTheFileAndLine()
    {
        var file = WriteFile("filters", "+ *.jpg\n*.png\n");

        var ex = Assert.Throws<FilterSyntaxException>(() => new FilterRulesBuilder().AddFilterFrom(file));

        Assert.Equal(2, ex.LineNumber);
        Assert.Equal("*.png", ex.Pattern);
        Assert.Contains("malformed rule", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddFilterLineReportsTheGivenLocation()
    {
        var ex = Assert.Throws<FilterSyntaxException>(() => new FilterRulesBuilder().AddFilterLine("- {{(}}", "settings.json", 7));

        Assert.Equal("settings.json", ex.Source);
        Assert.Equal(7, ex.LineNumber);
        Assert.Equal("{{(}}", ex.Pattern);
        Assert.IsType<ArgumentException>(ex.InnerException, exactMatch: false);
    }

    [Fact]
    public void MissingRuleFileIsAnIoError()
    {
        Assert.Throws<FileNotFoundException>(() => new FilterRulesBuilder().AddExcludeFrom(Path.Combine(_dir, "nope")));
    }

    [Fact]
    public void ScansManyPathsWithTheGuideRules()
    {
        // 20,000 paths, a realistic mix, checked the way the sync scanner will: prune, then test files.
        var rules = new FilterRulesBuilder().AddExcludeFrom(WriteFile("rcloneignore", GuideIgnoreFile)).Build();
        var paths = Enumerable.Range(0, 20_000).Select(i => (i % 10) switch
        {
            0 => $"proj{i % 37}/node_modules/pkg{i}/index.js",
            1 => $"proj{i % 37}/src/module{i}.pyc",
            2 => $"logs/{i}.log",
            _ => $"docs/section{i % 101}/page{i}.md",
        }).ToList();

        var kept = paths.Count(rules.IncludeFileAndParents);

        Assert.Equal(14_000, kept);
    }

    private string WriteFile(string name, string content)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }
}
