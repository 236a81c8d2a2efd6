using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// Plans a run window by window (<see cref="ISyncWindowSource"/>: a whole-mode run is one window) and carries the
/// plan out. Deletes are never made before the whole plan is known: the guards weigh them against the run's
/// totals, and a run they refuse has changed nothing. So a run that can delete, or that has a state (its
/// listing is checked against the state's keys until its last window), holds its transfers and deletes (the
/// changes, not the files) until every window is planned and guarded; a first run that cannot delete (no
/// -Mirror, or -NoDelete) transfers each window's files while the next window is planned, and reports them
/// in batches as they finish. -WhatIf writes what it would do as such a run would do it: a first run's
/// transfers as each window is planned, the rest once every window is planned and guarded.
/// </summary>
internal sealed class SyncWindows
{
    private readonly SyncRun _run;
    private readonly SyncPlanner _planner;
    private readonly SyncExecutor _executor;
    private readonly SyncReporter _reporter;

    public SyncWindows(SyncRun run, SyncPlanner planner, SyncExecutor executor, SyncReporter reporter)
    {
        _run = run;
        _planner = planner;
        _executor = executor;
        _reporter = reporter;
    }

    /// <summary>
    /// Whether the run may delete anything: with the state empty, a one-way run deletes only under -Mirror
    /// (nothing else is owned) and a two-way run has no baseline to find a delete by.
    /// </summary>
    public static bool CanDelete(SyncRun run) => !run.Options.NoDelete && (run.Options.Mirror || run.State.EntryCount > 0);

    /// <summary>
    /// Whether the run holds its changes until every window is planned: it can delete, or it has a state, whose
    /// windows a key listed out of order would have planned wrong (the run is then planned again whole, which
    /// must come before anything changed).
    /// </summary>
    public static bool HoldsChanges(SyncRun run) => CanDelete(run) || run.State.EntryCount > 0;

    /// <summary>The last key of a window: the smaller of the sides' last keys, null (to the end) when neither side fills the window.</summary>
    public static string? EndOf(string? localEnd, string? remoteEnd) =>
        localEnd is null ? remoteEnd
        : remoteEnd is null ? localEnd
        : RangedListing.CompareKeys(localEnd, remoteEnd) <= 0 ? localEnd : remoteEnd;

    /// <summary>Whether <paramref name="key"/> comes at or before <paramref name="upTo"/> (null: the end).</summary>
    public static bool UpTo(string key, string? upTo) => upTo is null || RangedListing.CompareKeys(key, upTo) <= 0;

    /// <summary>Plans every window, guards the run's deletes and carries out what was held; disposes of <paramref name="windows"/>.</summary>
    public async Task RunAsync(ISyncWindowSource windows)
    {
        var holds = HoldsChanges(_run);
        var held = new SyncPlan();
        var carrying = Task.CompletedTask;
        try
        {
            while (await windows.NextAsync().ConfigureAwait(false) is { } window)
            {
                if (window.IsLate)
                {
                    // Its paths were planned in their places as having no object: decided again from how they are now.
                    await carrying.ConfigureAwait(false);
                    held.Transfers.RemoveAll(t => window.Holds(t.RelativePath));
                    held.Deletes.RemoveAll(d => window.Holds(d.RelativePath));
                }

                var plan = await _planner.PlanWindowAsync(window).ConfigureAwait(false);
                held.Deletes.AddRange(plan.Deletes);
                ForgetGone(window, plan);
                if (holds)
                {
                    held.Forgets.AddRange(plan.Forgets);
                }
                else
                {
                    Forget(plan.Forgets);
                }

                if (_run.Options.PlanOnly)
                {
                    // -WhatIf changes nothing, but what it writes of a plan that is planned again would be written twice.
                    if (holds)
                    {
                        held.Transfers.AddRange(plan.Transfers);
                    }
                    else
                    {
                        _executor.EmitTransfers(plan.Transfers);
                    }

                    windows.Release(window, Array.Empty<string>());
                }
                else if (holds)
                {
                    held.Transfers.AddRange(plan.Transfers);
                    _reporter.Collect();
                    windows.Release(window, Pending(plan).Concat(_reporter.DuePaths()).ToList());
                }
                else
                {
                    await carrying.ConfigureAwait(false);
                    carrying = CarryAsync(windows, window, plan);
                }
            }

            await carrying.ConfigureAwait(false);
        }
        catch
        {
            // No transfer outlives the run: the state is saved after this returns.
            await Settle(carrying).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await windows.DisposeAsync().ConfigureAwait(false);
        }

        // Once every window is planned: a window's listing may have lacked a key listed later (planned again).
        Forget(held.Forgets);
        _planner.Conclude(held);
        if (_run.Options.PlanOnly)
        {
            _executor.EmitTransfers(held.Transfers);
            _executor.EmitDeletes(held);
            return;
        }

        await _executor.FinishAsync(held).ConfigureAwait(false);
    }

    // The paths a plan still has to change (their entries stay in memory until then).
    private static IEnumerable<string> Pending(SyncPlan plan) =>
        plan.Transfers.Select(t => t.RelativePath)
            .Concat(plan.Transfers.Where(t => t.ConflictPath is not null).Select(t => t.ConflictPath!))
            .Concat(plan.Deletes.Select(d => d.RelativePath));

    // One window's transfers, then the report's batches that are full by then; then the window is let go of
    // (but for the paths whose report is still due).
    private async Task CarryAsync(ISyncWindowSource windows, SyncWindow window, SyncPlan plan)
    {
        await _executor.TransferAsync(plan.Transfers).ConfigureAwait(false);
        _reporter.Collect();
        await _reporter.SendFullBatchesAsync().ConfigureAwait(false);
        windows.Release(window, _reporter.DuePaths());
    }

    private static async Task Settle(Task carrying)
    {
        try
        {
            await carrying.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The exception that stopped the planning is the run's.
        }
    }

    // An upload forgets the window's paths gone from both sides; one whose delete is withheld is still listed, so
    // it stays owned and the next run (with -Force, say) still deletes it. A whole run's state forgets them at
    // once (also the paths a killed run set out to move); a window's paths are forgotten with the plan's.
    private void ForgetGone(SyncWindow window, SyncPlan plan)
    {
        if (_run.Options.Direction != SyncDirection.Upload || _run.Options.PlanOnly)
        {
            return;
        }

        var inventory = window.Inventory;
        if (!window.IsPart)
        {
            _run.State.ForgetMissingInWindow(_run.Root, rel => !inventory.Covers(rel) || inventory.Remote.ContainsKey(rel));
            return;
        }

        plan.Forgets.AddRange(window.Entries.Select(e => e.RelativePath)
            .Where(rel => window.Holds(rel) && !inventory.Remote.ContainsKey(rel) && !inventory.Local.ContainsKey(rel) && !System.IO.File.Exists(LocalScanner.FullPathOf(_run.Root, rel))));
    }

    private void Forget(List<string> paths)
    {
        foreach (var rel in paths)
        {
            _run.State.Forget(rel);
        }

        paths.Clear();
    }
}
