using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using ChittyConnect.Sync;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// The state read a window of keys at a time and written by one merge (SyncState's streamed mode), held against
/// the same state loaded and saved whole, and key order against UTF-8 byte order computed here (S3's order).
/// </summary>
public sealed class SyncStateStreamedTests : IDisposable
{
    private const string Identity = "folder\nendpoint bucket prefix/";

    private readonly string _dir = Directory.CreateTempSubdirectory("chitty-streamed-state-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    // A few hundred keys: folders of 20 files, a file beside a folder of the same name ("d03.txt" lists before
    // "d03/..."), names above U+E000 and beyond U+FFFF (a surrogate pair, which UTF-16 order puts below U+E000
    // and UTF-8 order above it), and a tab.
    private static readonly string[] s_keys = Enumerable.Range(0, 300).Select(i => $"d{i / 20:D2}/f{i % 20:D2}.bin")
        .Concat(new[] { "d03.txt", "d03\uE000", "d03\U0001F600", "d03\uFFFD", "tab\there", "e\u00E9", "\uFFFDz", "\U0001F600" })
        .ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(64)]
    public void Windows_of_any_size_give_the_entries_a_whole_load_gives(int windowKeys)
    {
        var path = WholeState("state", s_keys);
        var whole = SyncState.Load(path, Identity, out _);
        var streamed = Streamed(path);

        var seen = new List<string>();
        foreach (var window in Windows(ByteOrder(s_keys), windowKeys))
        {
            streamed.LoadWindow(window.Last());
            var entries = streamed.Entries();
            Assert.Equal(window.OrderBy(k => k, StringComparer.Ordinal), entries.Select(e => e.RelativePath));
            seen.AddRange(entries.Select(e => SyncStateFormat.EntryLine(e.RelativePath, e.Entry)));
            streamed.Release(window.Last(), Array.Empty<string>());
        }

        streamed.LoadWindow(null);
        Assert.Empty(streamed.Entries());
        Assert.Equal(whole.Entries().Select(e => SyncStateFormat.EntryLine(e.RelativePath, e.Entry)).OrderBy(l => l, StringComparer.Ordinal), seen.OrderBy(l => l, StringComparer.Ordinal));
    }

    [Fact]
    public void Windows_ending_between_keys_and_at_the_end_give_every_entry_once()
    {
        var path = WholeState("state", s_keys);
        var streamed = Streamed(path);

        var seen = new List<string>();
        foreach (var upTo in new[] { "d00/", "d05/f07", "d05/f07", "d09", "d14/zz", null })
        {
            streamed.LoadWindow(upTo);
            seen.AddRange(streamed.Entries().Select(e => e.RelativePath));
            if (upTo is not null)
            {
                streamed.Release(upTo, Array.Empty<string>());
            }
        }

        Assert.Equal(s_keys.OrderBy(k => k, StringComparer.Ordinal), seen.OrderBy(k => k, StringComparer.Ordinal));
    }

    [Fact]
    public void Changes_made_window_by_window_save_the_file_a_whole_save_of_the_same_changes_writes()
    {
        var original = WholeState("original", s_keys);
        var wholePath = Path.Combine(_dir, "whole", "state");
        var streamedPath = Path.Combine(_dir, "streamed", "state");
        Directory.CreateDirectory(Path.GetDirectoryName(wholePath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(streamedPath)!);
        File.Copy(original, wholePath);
        File.Copy(original, streamedPath);
        var ordered = ByteOrder(s_keys);
        // Two paths with a transfer still to come when their window is released (a run that can delete holds
        // its transfers until the plan is whole): changed after the release.
        var kept = new[] { ordered[200], ordered[201] };
        var changes = new (string Key, Action<SyncState> Change)[]
        {
            (ordered[0], s => s.Remember(ordered[0], Entry("changed first"), "etag-1", transferred: true)),
            (ordered[10], s => s.Remember(ordered[10], Entry("changed"), "etag-2", transferred: true)),
            (ordered[55], s => s.Forget(ordered[55])),
            (ordered[120], s => s.MarkReported(s.Unreported(new[] { ordered[120], ordered[121] }).Select(u => u.RelativePath))),
            (ordered[130], s => s.Remember(ordered[130], Entry(ordered[130]), Md5(ordered[130]), transferred: false)),
            ("d07/new.bin", s => s.Remember("d07/new.bin", Entry("new"), Md5("new"), transferred: true)),
            ("d03\uFFFE", s => s.Remember("d03\uFFFE", Entry("new above U+E000"), Md5("x"), transferred: false)),
            ("\U0001F600", s => s.Forget("\U0001F600")),
            ("\U0001F601", s => s.Remember("\U0001F601", Entry("last"), Md5("last"), transferred: true)),
        };
        void Late(SyncState s)
        {
            s.Remember(kept[0], Entry("uploaded after the plan"), "etag-kept", transferred: true);
            s.Forget(kept[1]);
        }

        void Common(SyncState s)
        {
            s.ListedInKeyOrder = true;
            s.BeginMoving(new[] { "d09/moving.bin" });
            s.AddPending("prefix/big.bin", "upload-1", new string('c', 64), replaces: null);
        }

        var whole = SyncState.Load(wholePath, Identity, out _);
        Common(whole);
        foreach (var (_, change) in changes)
        {
            change(whole);
        }

        whole.Checkpoint();
        Late(whole);
        whole.Save();

        var streamed = Streamed(streamedPath);
        Common(streamed);
        string? previous = null;
        foreach (var window in Windows(ordered, 40))
        {
            var upTo = window.Last();
            streamed.LoadWindow(upTo);
            foreach (var (key, change) in changes.Where(c => (previous is null || Compare(c.Key, previous) > 0) && Compare(c.Key, upTo) <= 0))
            {
                change(streamed);
            }

            streamed.Checkpoint();
            streamed.Release(upTo, kept);
            previous = upTo;
        }

        streamed.LoadWindow(null);
        foreach (var (_, change) in changes.Where(c => Compare(c.Key, previous!) > 0))
        {
            change(streamed);
        }

        Late(streamed);
        streamed.Save();

        Assert.Equal(File.ReadAllText(wholePath), File.ReadAllText(streamedPath));
        Assert.Equal(File.ReadAllBytes(wholePath), File.ReadAllBytes(streamedPath));
        Assert.Equal(new[] { "state" }, Directory.GetFiles(Path.GetDirectoryName(streamedPath)!).Select(Path.GetFileName));
        Assert.Equal(Entry("uploaded after the plan").Sha256, StateFileLines.Files(streamedPath)[kept[0]].Sha256);
        Assert.DoesNotContain(kept[1], StateFileLines.Files(streamedPath).Keys);
    }

    [Fact]
    public void A_run_that_changes_nothing_writes_nothing()
    {
        var path = WholeState("state", s_keys);
        var written = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(path, written);
        var bytes = File.ReadAllBytes(path);
        var streamed = Streamed(path);

        foreach (var window in Windows(ByteOrder(s_keys), 50))
        {
            streamed.LoadWindow(window.Last());
            foreach (var (rel, entry) in streamed.Entries())
            {
                // Found as they were: recording them again changes nothing.
                streamed.Remember(rel, entry, entry.RemoteETag!, transferred: false);
            }

            streamed.Checkpoint();
            streamed.Release(window.Last(), Array.Empty<string>());
        }

        streamed.LoadWindow(null);
        streamed.Save();

        Assert.Equal(written, File.GetLastWriteTimeUtc(path));
        Assert.Equal(bytes, File.ReadAllBytes(path));
        Assert.Equal(new[] { "state" }, Directory.GetFiles(_dir).Select(Path.GetFileName));
    }

    [Fact]
    public void A_release_keeps_in_memory_only_the_kept_entries_and_saves_them()
    {
        var path = WholeState("state", s_keys);
        var streamed = Streamed(path);
        var ordered = ByteOrder(s_keys);
        var kept = new List<string>();

        foreach (var window in Windows(ordered, 25))
        {
            streamed.LoadWindow(window.Last());
            Assert.Equal(window.Count + kept.Count, streamed.Files.Count);
            // One path of each window still has a transfer to come.
            kept.Add(window[window.Count / 2]);
            streamed.Release(window.Last(), new[] { window[window.Count / 2] });

            Assert.Equal(kept.OrderBy(k => k, StringComparer.Ordinal), streamed.Files.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Empty(streamed.Entries());
        }

        foreach (var key in kept)
        {
            Assert.NotNull(streamed.EntryFor(key));
            streamed.Remember(key, Entry("after " + key), "etag", transferred: true);
        }

        streamed.Save();

        var saved = SyncState.Load(path, Identity, out var warning);
        Assert.Null(warning);
        Assert.Equal(s_keys.Length, saved.Files.Count);
        Assert.All(kept, key => Assert.Equal(Entry("after " + key).Sha256, saved.EntryFor(key)!.Sha256));
        Assert.All(ordered.Except(kept), key => Assert.Equal(Entry(key).Sha256, saved.EntryFor(key)!.Sha256));
    }

    [Fact]
    public void A_run_killed_after_checkpoints_is_recovered_by_the_next_load()
    {
        var path = WholeState("state", s_keys);
        var before = File.ReadAllBytes(path);
        var ordered = ByteOrder(s_keys);
        var streamed = Streamed(path);
        foreach (var window in Windows(ordered, 100))
        {
            streamed.LoadWindow(window.Last());
            streamed.Remember(window[0], Entry("done " + window[0]), "etag", transferred: true);
            streamed.Forget(window[1]);
            streamed.Checkpoint();
            streamed.Release(window.Last(), Array.Empty<string>());
        }

        // Killed here: no save. The state file is as it was; the journal holds what was done.
        Assert.Equal(before, File.ReadAllBytes(path));

        var windows = Windows(ordered, 100).ToList();
        var nextStreamed = Streamed(path);
        nextStreamed.LoadWindow(null);
        foreach (var next in new[] { SyncState.Load(path, Identity, out _), nextStreamed })
        {
            Assert.Equal(s_keys.Length - windows.Count, next.Entries().Count);
            Assert.All(windows, w => Assert.Equal(Entry("done " + w[0]).Sha256, next.EntryFor(w[0])!.Sha256));
            Assert.All(windows, w => Assert.Null(next.EntryFor(w[1])));
        }

        var recovered = Streamed(path);
        recovered.Save();
        Assert.False(File.Exists(recovered.JournalPath));
        Assert.False(File.Exists(recovered.ReleasedPath));
        Assert.Equal(s_keys.Length - windows.Count, StateFileLines.Files(path).Count);
    }

    [Fact]
    public void A_save_that_failed_loses_no_released_change_and_the_next_save_writes_them()
    {
        var path = Path.Combine(_dir, "first");
        var state = Streamed(path);
        var ordered = ByteOrder(s_keys);
        foreach (var window in Windows(ordered, 100))
        {
            state.LoadWindow(window.Last());
            foreach (var key in window)
            {
                state.Remember(key, Entry(key), Md5(key), transferred: true);
            }

            state.Release(window.Last(), Array.Empty<string>());
        }

        // Something in the state's place: the rename fails.
        Directory.CreateDirectory(path);
        Assert.ThrowsAny<IOException>(() => state.Save());
        Directory.Delete(path);
        state.Save();

        Assert.Equal(ordered, StateFileLines.Files(path).Keys.OrderBy(k => k, Comparer<string>.Create(Compare)));
        Assert.False(File.Exists(state.ReleasedPath));
    }

    [Fact]
    public void Every_save_writes_its_entries_and_a_state_written_without_the_count_is_counted()
    {
        var path = WholeState("state", s_keys);
        Assert.Equal(s_keys.Length, long.Parse(StateFileLines.Records(path, "entries").Single()[1]));
        Assert.Equal(s_keys.Length, Streamed(path).EntryCount);

        // As the version before wrote it.
        File.WriteAllLines(path, File.ReadAllLines(path).Where(l => !l.StartsWith("entries\t", StringComparison.Ordinal)));
        Assert.Equal(s_keys.Length, Streamed(path).EntryCount);
        Assert.Equal(s_keys.Length, SyncState.Load(path, Identity, out _).Files.Count);

        // The journal's entries count too (a first sync killed before any save leaves only its journal).
        var journaled = Streamed(Path.Combine(_dir, "first"));
        journaled.Remember("a.txt", Entry("a"), Md5("a"), transferred: true);
        journaled.Checkpoint();
        Assert.Equal(1, Streamed(Path.Combine(_dir, "first")).EntryCount);
        Assert.Equal(0, Streamed(Path.Combine(_dir, "none")).EntryCount);
    }

    [Fact]
    public void A_state_cut_short_is_refused_whole_and_read_up_to_the_cut_streamed_with_a_warning()
    {
        var path = WholeState("state", s_keys);
        var lines = File.ReadAllLines(path);
        File.WriteAllLines(path, lines.Take(lines.Length - 10));

        var whole = SyncState.Load(path, Identity, out var warning);
        Assert.Contains("could not be read", warning);
        Assert.Empty(whole.Files);

        var streamed = Streamed(path);
        streamed.LoadWindow(null);
        Assert.Equal(s_keys.Length - 10, streamed.Files.Count);
        Assert.Contains($"says {s_keys.Length} entries", streamed.WindowWarning);
    }

    [Fact]
    public void A_state_grown_past_its_entries_line_gains_no_entry_streamed_as_whole_it_gains_none()
    {
        // Lines appended by something else than a save (another state's tail, a tool that merged two copies):
        // an entry there would be a file the sync believes both sides held, so a file missing on one side
        // would read as deleted there.
        var path = WholeState("state", s_keys);
        var other = WholeState("other", new[] { "\U0001F601 appended.txt", "\U0001F602 appended.txt" });
        File.AppendAllLines(path, File.ReadAllLines(other).Where(l => l.StartsWith("F\t", StringComparison.Ordinal)));

        var whole = SyncState.Load(path, Identity, out var warning);
        Assert.Contains("could not be read", warning);
        Assert.Empty(whole.Files);

        var streamed = Streamed(path);
        streamed.LoadWindow(null);
        Assert.Equal(s_keys.Length, streamed.Files.Count);
        Assert.Null(streamed.EntryFor("\U0001F601 appended.txt"));
        Assert.Contains($"says {s_keys.Length} entries", streamed.WindowWarning);

        // Nor does the save's merge copy them.
        streamed.Forget(ByteOrder(s_keys)[0]);
        streamed.Save();
        Assert.Equal(s_keys.Length - 1, StateFileLines.Files(path).Count);
        Assert.Null(SyncState.Load(path, Identity, out _).EntryFor("\U0001F602 appended.txt"));
    }

    [Fact]
    public void A_save_between_windows_leaves_the_later_windows_and_the_journals_changes_to_come()
    {
        var path = WholeState("state", s_keys);
        var ordered = ByteOrder(s_keys);
        var state = Streamed(path);
        // A change the journal holds for a key of a later window.
        state.Remember(ordered[250], Entry("journaled"), "etag-j", transferred: true);
        state.Checkpoint();
        state = Streamed(path);

        state.LoadWindow(ordered[99]);
        state.Remember(ordered[5], Entry("first window"), "etag-1", transferred: true);
        state.Release(ordered[99], Array.Empty<string>());
        state.Save();

        state.LoadWindow(ordered[199]);
        Assert.Equal(ordered.Skip(100).Take(100).Order(StringComparer.Ordinal), state.Entries().Select(e => e.RelativePath));
        // A path of a released window, gone from both sides since: forgotten all the same.
        state.Forget(ordered[7]);
        state.Release(ordered[199], Array.Empty<string>());
        state.LoadWindow(null);
        Assert.Equal(ordered.Skip(200).Order(StringComparer.Ordinal), state.Entries().Select(e => e.RelativePath));
        Assert.Equal(Entry("journaled").Sha256, state.EntryFor(ordered[250])!.Sha256);
        state.Save();
        state.Dispose();

        var saved = StateFileLines.Files(path);
        Assert.Equal(s_keys.Length - 1, saved.Count);
        Assert.False(saved.ContainsKey(ordered[7]));
        Assert.Equal(Entry("first window").Sha256, saved[ordered[5]].Sha256);
        Assert.Equal(Entry("journaled").Sha256, saved[ordered[250]].Sha256);
    }

    [Fact]
    public void Keys_are_read_and_written_in_the_listings_order_of_UTF8_bytes()
    {
        var path = WholeState("state", s_keys);
        var ordered = ByteOrder(s_keys);
        Assert.Equal(ordered, StateFileLines.Records(path, "F").Select(f => f[1]));
        // UTF-16 order would put the surrogate pair first: the listing puts it after U+E000..U+FFFF.
        Assert.True(string.CompareOrdinal("d03\U0001F600", "d03\uE000") < 0);
        Assert.True(Array.IndexOf(ordered, "d03\U0001F600") > Array.IndexOf(ordered, "d03\uFFFD"));

        var streamed = Streamed(path);
        streamed.LoadWindow("d03\uFFFD");
        Assert.Contains("d03\uE000", streamed.Files.Keys);
        Assert.DoesNotContain("d03\U0001F600", streamed.Files.Keys);
        streamed.Release("d03\uFFFD", Array.Empty<string>());
        streamed.LoadWindow("d03\U0001F600");
        Assert.Equal(new[] { "d03\U0001F600" }, streamed.Entries().Select(e => e.RelativePath));

        // A new key beyond U+FFFF, saved by the merge, lands where the listing would list it.
        streamed.Remember("d03\U0001F600x", Entry("new"), Md5("new"), transferred: true);
        streamed.LoadWindow(null);
        streamed.Save();
        var keys = StateFileLines.Records(path, "F").Select(f => f[1]).ToArray();
        Assert.Equal(ByteOrder(keys), keys);
        Assert.Contains("d03\U0001F600x", keys);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_key_noted_as_being_created_outlives_a_crash_and_a_save_until_swept_and_a_torn_note_is_not_read(bool streamed)
    {
        var path = WholeState("state", s_keys);
        var first = streamed ? Streamed(path) : SyncState.Load(path, Identity, out _);
        first.NoteCreating("big/a.bin");
        first.NoteCreating("big/b.bin");
        first.AddPending("big/b.bin", "upload-b", new string('b', 64), null);
        first.Checkpoint();
        // Killed mid-append: the journal's last line is a note cut short in its time.
        File.AppendAllText(first.JournalPath, "I\tbig/c.bin\t17650\n");

        var next = streamed ? Streamed(path) : SyncState.Load(path, Identity, out _);
        Assert.Equal(new[] { "big/a.bin" }, next.UploadsBeingCreated.Keys);
        next.AddPending("big/a.bin", "upload-a", new string('a', 64), null);
        if (streamed)
        {
            next.LoadWindow(null);
        }

        next.Save();
        // Another run's upload of a.bin being recorded does not tell that the one noted is gone: only a sweep does.
        var saved = SyncState.Load(path, Identity, out _);
        Assert.Equal(new[] { "big/a.bin" }, saved.UploadsBeingCreated.Keys);
        saved.SweptCreating("big/a.bin");
        saved.Save();
        Assert.Empty(SyncState.Load(path, Identity, out _).UploadsBeingCreated);
        Assert.Empty(StateFileLines.Records(path, "I"));
    }

    [Fact]
    public void Sampled_keys_are_evenly_spaced_in_key_order()
    {
        var path = WholeState("state", s_keys);
        var ordered = ByteOrder(s_keys);
        var n = ordered.Length;

        var sample = Streamed(path).SampleKeys(4);

        Assert.Equal(new[] { ordered[0], ordered[n / 4], ordered[n / 2], ordered[3 * n / 4] }, sample);
        Assert.Equal(sample, SyncState.Load(path, Identity, out _).SampleKeys(4));
        Assert.Equal(ordered, Streamed(path).SampleKeys(10_000));
    }

    [Fact]
    public void The_keys_at_given_places_are_read_alike_streamed_and_whole_and_a_place_past_the_end_ends_them()
    {
        var path = WholeState("state", s_keys);
        var ordered = ByteOrder(s_keys);
        long[] places = [1, 2, 150, 299, 307, 308, 5000];

        var streamed = Streamed(path).KeysAt(places);

        Assert.Equal(new[] { ordered[1], ordered[2], ordered[150], ordered[299], ordered[307] }, streamed);
        Assert.Equal(streamed, SyncState.Load(path, Identity, out _).KeysAt(places));
        Assert.Empty(Streamed(path).KeysAt([]));
    }

    [Fact]
    public void A_sample_ends_at_a_line_that_cannot_be_read_and_keeps_what_came_before()
    {
        var path = WholeState("state", s_keys);
        var ordered = ByteOrder(s_keys);
        var lines = File.ReadAllLines(path);
        var broken = Array.FindIndex(lines, l => l.StartsWith("F\t" + ordered[150] + "\t", StringComparison.Ordinal));
        lines[broken] = "F\tnot\\qan escape";
        File.WriteAllLines(path, lines);

        var sample = Streamed(path).SampleKeys(10_000);

        Assert.Equal(ordered.Take(150), sample);
    }

    [Fact]
    public void A_streamed_state_forgets_missing_paths_of_its_window_only()
    {
        var path = WholeState("state", s_keys);
        var streamed = Streamed(path);
        streamed.LoadWindow("d00/f19.bin");
        streamed.Release("d00/f09.bin", Array.Empty<string>());
        streamed.BeginMoving(new[] { "d00/f15.bin-moving", "d05/f00.bin-moving" });

        Assert.Throws<InvalidOperationException>(() => streamed.ForgetMissing(_dir, _ => false));
        // Nothing is under the folder and nothing listed: every path of the window is gone from both sides.
        streamed.ForgetMissingInWindow(_dir, _ => false);
        streamed.LoadWindow(null);
        streamed.Save();

        var saved = StateFileLines.Files(path).Keys.ToHashSet();
        Assert.Equal(s_keys.Length - 10, saved.Count);
        Assert.All(Enumerable.Range(10, 10), i => Assert.DoesNotContain($"d00/f{i:D2}.bin", saved));
        Assert.Equal(new[] { "d05/f00.bin-moving" }, StateFileLines.Records(path, "M").Select(f => f[1]));
    }

    [Fact]
    public void Dispose_closes_the_state_file_and_the_released_changes_mid_run_and_the_journal_recovers_the_run()
    {
        var path = WholeState("state", s_keys);
        var before = File.ReadAllBytes(path);
        var ordered = ByteOrder(s_keys);
        var state = Streamed(path);
        state.LoadWindow(ordered[99]);
        state.Remember(ordered[0], Entry("done"), "etag", transferred: true);
        state.Checkpoint();
        state.Release(ordered[99], Array.Empty<string>());
        // Mid-run: the windows' cursor is on the state file, the released change is in its file.
        Assert.NotEmpty(OpenHandlesTo(path));
        Assert.NotEmpty(OpenHandlesTo(state.ReleasedPath));

        // A run that failed before its save: disposed, not saved.
        state.Dispose();
        state.Dispose();

        Assert.Empty(OpenHandlesTo(path));
        Assert.Empty(OpenHandlesTo(state.ReleasedPath));
        Assert.False(File.Exists(state.ReleasedPath));
        Assert.Throws<ObjectDisposedException>(() => state.Save());
        Assert.Throws<ObjectDisposedException>(() => state.LoadWindow(null));
        Assert.Equal(before, File.ReadAllBytes(path));
        var next = Streamed(path);
        next.LoadWindow(null);
        Assert.Equal(Entry("done").Sha256, next.EntryFor(ordered[0])!.Sha256);
        next.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_saved_state_disposes_with_no_file_left_open(bool changed)
    {
        var path = WholeState("state", s_keys);
        var ordered = ByteOrder(s_keys);
        var state = Streamed(path);
        state.LoadWindow(ordered[149]);
        if (changed)
        {
            state.Forget(ordered[3]);
            state.Release(ordered[149], Array.Empty<string>());
        }

        state.Save();
        state.Dispose();
        state.Dispose();

        Assert.Empty(OpenHandlesTo(path));
        Assert.Empty(OpenHandlesTo(state.ReleasedPath));
        Assert.False(File.Exists(state.ReleasedPath));
        Assert.Equal(changed ? s_keys.Length - 1 : s_keys.Length, StateFileLines.Files(path).Count);
    }

    // The handles this process holds open on path (Linux's /proc; elsewhere whether an exclusive open fails).
    private static List<string> OpenHandlesTo(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists("/proc/self/fd"))
        {
            var open = new List<string>();
            foreach (var fd in Directory.GetFiles("/proc/self/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && (target == full || target == full + " (deleted)"))
                    {
                        open.Add(target);
                    }
                }
                catch (IOException)
                {
                    // A descriptor closed while the folder was read.
                }
            }

            return open;
        }

        try
        {
            using var exclusive = new FileStream(full, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return new List<string>();
        }
        catch (FileNotFoundException)
        {
            return new List<string>();
        }
        catch (IOException)
        {
            return new List<string> { full };
        }
    }

    private SyncState Streamed(string path)
    {
        var state = SyncState.Load(path, Identity, out var warning, streamed: true);
        Assert.Null(warning);
        return state;
    }

    // A state of keys saved whole, each with content of its own; every other one reported.
    private string WholeState(string name, IEnumerable<string> keys)
    {
        var state = new SyncState(Path.Combine(_dir, name), Identity);
        var i = 0;
        foreach (var key in keys)
        {
            state.Remember(key, Entry(key), Md5(key), transferred: i++ % 2 == 0);
        }

        state.Save();
        File.Delete(state.JournalPath);
        return state.Path;
    }

    private static SyncStateEntry Entry(string content) => new()
    {
        Size = content.Length,
        ModifiedTicks = 638673456789012345 + content.Length,
        Sha256 = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(content))).ToLowerInvariant(),
        Md5 = Md5(content),
    };

    private static string Md5(string content) => Convert.ToHexString(MD5.HashData(Encoding.UTF8.GetBytes(content))).ToLowerInvariant();

    // S3's order, computed here from the bytes rather than taken from the module.
    private static int Compare(string a, string b)
    {
        var x = Encoding.UTF8.GetBytes(a);
        var y = Encoding.UTF8.GetBytes(b);
        return x.AsSpan().SequenceCompareTo(y);
    }

    private static string[] ByteOrder(IEnumerable<string> keys) => keys.OrderBy(k => k, Comparer<string>.Create(Compare)).ToArray();

    private static IEnumerable<List<string>> Windows(string[] ordered, int size) =>
        ordered.Select((k, i) => (k, i)).GroupBy(p => p.i / size, p => p.k).Select(g => g.ToList());
}
