using System;

namespace ChittyConnect.Diagnostics;

/// <summary>Walks an exception's <see cref="Exception.InnerException"/> chain.</summary>
internal static class ExceptionChain
{
    /// <summary>
    /// The innermost exception, the one whose message names the cause (a refused connection, a reset), or the first on
    /// the way there that <paramref name="stopAt"/> accepts (one whose message already says it all).
    /// </summary>
    public static Exception Innermost(Exception ex, Func<Exception, bool>? stopAt = null)
    {
        while (ex.InnerException is not null && stopAt?.Invoke(ex) != true)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    /// <summary>The first exception of type <typeparamref name="T"/> in the chain, <paramref name="ex"/> itself included; null when none is.</summary>
    public static T? Find<T>(Exception? ex) where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is T found)
            {
                return found;
            }
        }

        return null;
    }
}
