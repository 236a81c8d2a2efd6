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
}
