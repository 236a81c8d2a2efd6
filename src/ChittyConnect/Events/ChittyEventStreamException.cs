using System;
using System.Net;

namespace ChittyConnect.Events;

/// <summary>
/// The event stream cannot be opened at all: the very first connection was refused with a client error (a wrong URL
/// or credentials), which retrying would not fix. Failures after a stream has worked once are retried instead.
/// </summary>
public sealed class ChittyEventStreamException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ChittyEventStreamException(string message, HttpStatusCode? statusCode, Uri? requestUri, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        RequestUri = requestUri;
    }

    /// <summary>The HTTP status of the refused connection, if there was a response.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The <c>/sse</c> URL that was requested.</summary>
    public Uri? RequestUri { get; }
}
