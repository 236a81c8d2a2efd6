using System;

namespace ChittyConnect.Api;

/// <summary>What kind of failure a <see cref="ChittyApiException"/> is, for mapping to error categories.</summary>
public enum ChittyErrorKind
{
    /// <summary>The request was refused as malformed (400).</summary>
    InvalidRequest,

    /// <summary>Missing, invalid or inactive API key, or an invalid upload token (401).</summary>
    Authentication,

    /// <summary>The key may not do this (403).</summary>
    PermissionDenied,

    /// <summary>The route, session or object does not exist (404).</summary>
    NotFound,

    /// <summary>Too many requests (429), after every retry.</summary>
    RateLimited,

    /// <summary>The service failed (5xx), after every retry.</summary>
    ServerError,

    /// <summary>No answer within the request timeout.</summary>
    Timeout,

    /// <summary>The endpoint could not be reached (DNS, refused, reset).</summary>
    Network,

    /// <summary>The service answered something the contract does not allow (not JSON, wrong size).</summary>
    InvalidResponse,

    /// <summary>Any other HTTP status.</summary>
    Other,
}

/// <summary>
/// Every failure of a ChittyConnect API call: each of the service's error shapes, plain-text 404s,
/// non-JSON answers, timeouts and network faults all arrive as this one type.
/// </summary>
public sealed class ChittyApiException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ChittyApiException(ChittyErrorKind kind, int statusCode, string code, string message,
        string? method = null, string? path = null, string? requestId = null, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
        StatusCode = statusCode;
        Code = code;
        Method = method;
        Path = path;
        RequestId = requestId;
    }

    /// <summary>The failure's kind.</summary>
    public ChittyErrorKind Kind { get; }

    /// <summary>The HTTP status, 0 when no response arrived.</summary>
    public int StatusCode { get; }

    /// <summary>The service's error code (e.g. SESSION_NOT_FOUND, invalid_request), or one of ours (timeout, network, invalid_response).</summary>
    public string Code { get; }

    /// <summary>The request's method.</summary>
    public string? Method { get; }

    /// <summary>The request's path (no host, no query).</summary>
    public string? Path { get; }

    /// <summary>The service's request id, when it gave one.</summary>
    public string? RequestId { get; }

    /// <summary>True for failures worth trying again later (rate limits, 5xx, timeouts, network).</summary>
    public bool IsTransient => Kind is ChittyErrorKind.RateLimited or ChittyErrorKind.ServerError
        or ChittyErrorKind.Timeout or ChittyErrorKind.Network;

    /// <summary>Maps an HTTP status to a kind.</summary>
    public static ChittyErrorKind KindOf(int status) => status switch
    {
        400 or 409 or 413 or 422 => ChittyErrorKind.InvalidRequest,
        401 => ChittyErrorKind.Authentication,
        403 => ChittyErrorKind.PermissionDenied,
        404 => ChittyErrorKind.NotFound,
        429 => ChittyErrorKind.RateLimited,
        >= 500 => ChittyErrorKind.ServerError,
        _ => ChittyErrorKind.Other,
    };
}
