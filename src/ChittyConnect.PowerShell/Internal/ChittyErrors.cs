using System;
using System.IO;
using System.Management.Automation;
using System.Security;
using System.Security.Authentication;
using ChittyConnect.Api;
using ChittyConnect.Crypt;
using ChittyConnect.Filters;
using ChittyConnect.Storage;

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
        var message = exception.Message;
        if (FindTlsFailure(exception) is { } tls)
        {
            // Whatever layer wrapped it and whatever id the caller proposed, a failed TLS handshake (most
            // often a certificate this computer does not trust) is a connection that could not be made,
            // to every file alike, and the wrapper's "see inner exception" tells the user nothing.
            errorId = id.EndsWith("ConnectionFailed", StringComparison.Ordinal) ? id : "ChittyConnectionFailed";
            category = ErrorCategory.ConnectionError;
            message = $"{exception.Message} The TLS connection could not be established: {tls.Message}";
            action = "Make this computer trust the authority that issued the server's certificate (its certificate store; on Linux also SSL_CERT_FILE or SSL_CERT_DIR), or check that the endpoint is the one you meant. Certificates are always validated.";
        }

        var record = new ErrorRecord(exception, errorId ?? id, category, target);
        if (action is not null)
        {
            record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = action };
        }

        return record;
    }

    private static AuthenticationException? FindTlsFailure(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            if (current is AuthenticationException tls)
            {
                return tls;
            }
        }

        return null;
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
        ObjectStoreException store => StorageClass(store),
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

    // S3's codes (and the store's own) by what the user can do about them.
    private static (string Id, ErrorCategory Category, string? Action) StorageClass(ObjectStoreException ex) => ex.Code switch
    {
        "InvalidAccessKeyId" or "SignatureDoesNotMatch" => ("ChittyStorageAuthenticationFailed", ErrorCategory.AuthenticationError,
            "Check the R2 access key id and secret: Connect-Chitty ... -R2Credential (Get-Credential), then Test-ChittyConnection."),
        "AccessDenied" => ("ChittyStorageAccessDenied", ErrorCategory.PermissionDenied, "Check that the R2 token may read and write this bucket."),
        "NoSuchBucket" => ("ChittyStorageBucketNotFound", ErrorCategory.ObjectNotFound, "Check -Bucket and -R2Endpoint (or -AccountId) on Connect-Chitty."),
        "NoSuchKey" or "NotFound" or "NoSuchUpload" => ("ChittyStorageObjectNotFound", ErrorCategory.ObjectNotFound, null),
        "RequestTimeTooSkewed" => ("ChittyStorageClockSkewed", ErrorCategory.InvalidOperation, "Set this computer's clock right (it is off from the store's by more than 15 minutes)."),
        "UnsafeKey" => ("ChittyStorageUnsafeKey", ErrorCategory.SecurityError, null),
        "KeyTooLong" => ("ChittyStorageKeyTooLong", ErrorCategory.InvalidArgument, null),
        ObjectStoreException.ConditionalWriteUnsupported => ("ChittyStorageConditionalWriteUnsupported", ErrorCategory.NotImplemented,
            "Sync to Cloudflare R2 or another S3 store that honours If-Match and If-None-Match (Amazon S3 does); Test-ChittyConnection checks the R2 settings. Your files are unchanged."),
        "ETagMismatch" or "Sha256Mismatch" or "LengthMismatch" or "IntegrityError" => ("ChittyStorageIntegrityError", ErrorCategory.InvalidResult, "Run the sync again: nothing unverified was kept."),
        "IncompleteListing" => ("ChittyStorageIncompleteListing", ErrorCategory.InvalidResult, "Run the sync again later; nothing was changed."),
        "ContentChanged" => ("ChittyStorageContentChanged", ErrorCategory.InvalidData, null),
        "Timeout" => ("ChittyStorageTimeout", ErrorCategory.OperationTimeout, "Check the network and the R2 endpoint."),
        "NetworkError" or "AnswerLost" => ("ChittyStorageConnectionFailed", ErrorCategory.ConnectionError, "Check the network and the R2 endpoint: Test-ChittyConnection."),
        "SlowDown" or "ServiceUnavailable" or "InternalError" => ("ChittyStorageUnavailable", ErrorCategory.ResourceUnavailable, "The store is busy or failing; try again later."),
        _ => ("ChittyStorageError", ErrorCategory.WriteError, null),
    };
}
