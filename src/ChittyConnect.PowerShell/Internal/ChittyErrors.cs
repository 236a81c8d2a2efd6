using System;
using System.IO;
using System.Management.Automation;
using System.Security;
using ChittyConnect.Api;
using ChittyConnect.Crypt;
using ChittyConnect.Filters;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>
/// The one place exceptions become error records: stable error ids (the FullyQualifiedErrorId that
/// scripts test for), categories, targets, and a recommended action where there is an obvious one.
/// </summary>
internal static class ChittyErrors
{
    /// <summary>A watch reached -Timeout before writing the -First objects asked for.</summary>
    public const string WatchTimeoutId = "ChittyWatchTimeout";

    /// <summary>True for exceptions the cmdlets report; PowerShell's own flow-control exceptions pass through.</summary>
    public static bool IsReportable(Exception exception) =>
        exception is not (PipelineStoppedException or OperationCanceledException or ActionPreferenceStopException or HaltCommandException);

    public static ErrorRecord Create(Exception exception, string errorId, ErrorCategory category, object? target) =>
        new(exception, errorId, category, target);

    public static ErrorRecord ToErrorRecord(Exception exception, object? target, string? errorId = null)
    {
        exception = Unwrap(exception);
        var (id, category, action) = Classify(exception);
        var record = new ErrorRecord(exception, errorId ?? id, category, target);
        if (action is not null)
        {
            record.ErrorDetails = new ErrorDetails(exception.Message) { RecommendedAction = action };
        }

        return record;
    }

    private static Exception Unwrap(Exception exception)
    {
        while (exception is AggregateException { InnerExceptions.Count: 1 } aggregate)
        {
            exception = aggregate.InnerExceptions[0];
        }

        return exception;
    }

    private static (string Id, ErrorCategory Category, string? Action) Classify(Exception exception) => exception switch
    {
        ChittyApiException api => api.Code switch
        {
            "SESSION_NOT_FOUND" => ("ChittySessionNotFound", ErrorCategory.ObjectNotFound, "List the sessions with Get-ChittySession, or create one with New-ChittySession."),
            "MISSING_CHITTYID" => ("ChittyIdRequired", ErrorCategory.InvalidArgument, null),
            "invalid_or_expired_token" => ("ChittyUploadTokenExpired", ErrorCategory.AuthenticationError, "Send the file again: a new upload URL is requested each time."),
            "size_mismatch" => ("ChittyUploadIncomplete", ErrorCategory.InvalidResult, "Send the file again."),
            _ => api.Kind switch
            {
                ChittyErrorKind.Authentication => ("ChittyAuthenticationFailed", ErrorCategory.AuthenticationError, "Check the API key: Connect-Chitty -ApiKey (Read-Host -AsSecureString) ..., then Test-ChittyConnection."),
                ChittyErrorKind.PermissionDenied => ("ChittyPermissionDenied", ErrorCategory.PermissionDenied, null),
                ChittyErrorKind.NotFound => ("ChittyNotFound", ErrorCategory.ObjectNotFound, null),
                ChittyErrorKind.InvalidRequest => ("ChittyInvalidRequest", ErrorCategory.InvalidArgument, null),
                ChittyErrorKind.RateLimited => ("ChittyRateLimited", ErrorCategory.LimitsExceeded, "Wait a moment and try again."),
                ChittyErrorKind.ServerError => ("ChittyServerError", ErrorCategory.ResourceUnavailable, "The service failed; try again later."),
                ChittyErrorKind.Timeout => ("ChittyTimeout", ErrorCategory.OperationTimeout, "Check the endpoint and the network, or raise -TimeoutSec on Connect-Chitty."),
                ChittyErrorKind.Network => ("ChittyConnectionFailed", ErrorCategory.ConnectionError, "Check -Endpoint and that the service is reachable: Test-ChittyConnection."),
                ChittyErrorKind.InvalidResponse => ("ChittyInvalidResponse", ErrorCategory.InvalidData, "Check that -Endpoint is the ChittyConnect API."),
                _ => ("ChittyApiError", ErrorCategory.NotSpecified, null),
            },
        },
        RcloneCryptException crypt => crypt.Code is RcloneCryptException.BadBlock or RcloneCryptException.BadName
            ? ("ChittyCryptPasswordWrong", ErrorCategory.AuthenticationError, "Give the rclone crypt remote's password and salt (password2): Connect-Chitty -CryptPassword (Read-Host -AsSecureString) -CryptSalt ..., Sync-ChittyFolder -CryptPassword, or CHITTY_CRYPT_PASSWORD and CHITTY_CRYPT_SALT.")
            : ("ChittyCryptInvalidContent", ErrorCategory.InvalidData, null),
        FilterSyntaxException => ("ChittyFilterSyntax", ErrorCategory.ParserError, null),
        FormatException => ("ChittyInvalidFormat", ErrorCategory.ParserError, null),
        FileNotFoundException or DirectoryNotFoundException => ("ChittyPathNotFound", ErrorCategory.ObjectNotFound, null),
        UnauthorizedAccessException or SecurityException => ("ChittyAccessDenied", ErrorCategory.PermissionDenied, null),
        ArgumentException => ("ChittyInvalidArgument", ErrorCategory.InvalidArgument, null),
        InvalidDataException => ("ChittyInvalidData", ErrorCategory.InvalidData, null),
        TimeoutException => ("ChittyTimeout", ErrorCategory.OperationTimeout, null),
        IOException => ("ChittyIOError", ErrorCategory.WriteError, null),
        InvalidOperationException => ("ChittyInvalidOperation", ErrorCategory.InvalidOperation, null),
        _ => ("ChittyUnexpectedError", ErrorCategory.NotSpecified, null),
    };
}
