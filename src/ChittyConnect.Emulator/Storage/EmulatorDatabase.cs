using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;

namespace ChittyConnect.Emulator.Storage;

/// <summary>One row of <c>context_files</c>.</summary>
internal sealed record ContextFileRow(
    string Id,
    string SessionId,
    string? ChittyId,
    string FileUri,
    string? FileName,
    long? FileSize,
    string? Sha256,
    string? MimeType,
    bool IsActive,
    long LastAccessed,
    long SyncedAt,
    string? Metadata);

/// <summary>One row of <c>sync_events</c>.</summary>
internal sealed record SyncEventRow(
    string EventId,
    string SessionId,
    string EventType,
    string Source,
    long ItemsCount,
    long BytesSynced,
    string Status,
    string? ErrorMessage,
    long SyncedAt,
    string? Metadata);

/// <summary>A presigned upload intent, the service's TOKEN_KV entry.</summary>
internal sealed record UploadTokenRow(
    string Token,
    string R2Key,
    string SessionId,
    string ChittyId,
    string Name,
    long? Size,
    string? Mime,
    string? Sha256,
    long ExpiresAtMs);

/// <summary>
/// The emulator's SQLite store: the service's D1 tables (context_files, sync_events) plus what it keeps in
/// Durable Objects and KV (sessions, upload tokens). Every operation is serialized: the emulator needs
/// correctness, not throughput, and this keeps SQLite from ever answering "database is locked".
/// </summary>
internal sealed class EmulatorDatabase : IDisposable
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _gate = new(1, 1);

    public EmulatorDatabase(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
        Execute(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                PRAGMA journal_mode = WAL;
                CREATE TABLE IF NOT EXISTS sessions (
                    chitty_id TEXT NOT NULL,
                    id TEXT NOT NULL,
                    updated INTEGER NOT NULL,
                    expires INTEGER NOT NULL,
                    data TEXT NOT NULL,
                    PRIMARY KEY (chitty_id, id));
                CREATE TABLE IF NOT EXISTS context_files (
                    id TEXT PRIMARY KEY,
                    session_id TEXT NOT NULL,
                    chitty_id TEXT,
                    file_uri TEXT NOT NULL,
                    file_name TEXT,
                    file_size INTEGER,
                    sha256 TEXT,
                    mime_type TEXT,
                    is_active INTEGER DEFAULT 1,
                    last_accessed INTEGER,
                    synced_at INTEGER,
                    metadata TEXT,
                    UNIQUE (session_id, file_uri));
                CREATE TABLE IF NOT EXISTS sync_events (
                    event_id TEXT PRIMARY KEY,
                    session_id TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    source TEXT,
                    items_count INTEGER,
                    bytes_synced INTEGER,
                    status TEXT,
                    error_message TEXT,
                    synced_at INTEGER,
                    metadata TEXT);
                CREATE TABLE IF NOT EXISTS upload_tokens (
                    token TEXT PRIMARY KEY,
                    r2_key TEXT NOT NULL,
                    session_id TEXT NOT NULL,
                    chitty_id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    size INTEGER,
                    mime TEXT,
                    sha256 TEXT,
                    expires_at INTEGER NOT NULL);
                """;
            command.ExecuteNonQuery();
            return 0;
        });
    }

    public string Path { get; }

    // Sessions -------------------------------------------------------------------------------------

    public Task PutSessionAsync(string chittyId, string id, long updated, long expires, JsonObject data) =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT OR REPLACE INTO sessions (chitty_id, id, updated, expires, data)
                VALUES ($chitty, $id, $updated, $expires, $data)
                """;
            command.Parameters.AddWithValue("$chitty", chittyId);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$updated", updated);
            command.Parameters.AddWithValue("$expires", expires);
            command.Parameters.AddWithValue("$data", data.ToJsonString());
            return command.ExecuteNonQuery();
        });

    /// <summary>Forgets every session, as the service's session store does when it restarts; returns how many.</summary>
    public Task<int> ClearSessionsAsync() =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM sessions";
            return command.ExecuteNonQuery();
        });

    public Task<JsonObject?> GetSessionAsync(string chittyId, string id, long nowMs) =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT data FROM sessions WHERE chitty_id = $chitty AND id = $id AND expires > $now";
            command.Parameters.AddWithValue("$chitty", chittyId);
            command.Parameters.AddWithValue("$id", id);
            command.Parameters.AddWithValue("$now", nowMs);
            return command.ExecuteScalar() is string json ? JsonNode.Parse(json) as JsonObject : null;
        });

    public Task<List<JsonObject>> ListSessionsAsync(string chittyId, long nowMs) =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT data FROM sessions WHERE chitty_id = $chitty AND expires > $now
                ORDER BY updated DESC, rowid DESC
                """;
            command.Parameters.AddWithValue("$chitty", chittyId);
            command.Parameters.AddWithValue("$now", nowMs);
            return ReadAll(command, reader => JsonNode.Parse(reader.GetString(0)) as JsonObject);
        });

    // Context files --------------------------------------------------------------------------------

    /// <summary>
    /// INSERT OR REPLACE of several rows in one transaction, as D1's batch: one bad row fails them all.
    /// Returns false (and writes nothing) when a row lacks a uri, which D1 rejects.
    /// </summary>
    public Task<bool> UpsertContextFilesAsync(IReadOnlyList<ContextFileRow?> rows) =>
        RunAsync(connection =>
        {
            if (rows.Any(r => r is null || r.FileUri is null))
            {
                return false;
            }

            using var transaction = connection.BeginTransaction();
            foreach (var row in rows)
            {
                using var command = connection.CreateCommand();
                command.Transaction = transaction;
                command.CommandText = """
                    INSERT OR REPLACE INTO context_files
                    (id, session_id, chitty_id, file_uri, file_name, file_size, sha256, mime_type, is_active, last_accessed, synced_at, metadata)
                    VALUES ($id, $session, $chitty, $uri, $name, $size, $sha, $mime, $active, $accessed, $synced, $metadata)
                    """;
                command.Parameters.AddWithValue("$id", row!.Id);
                command.Parameters.AddWithValue("$session", row.SessionId);
                command.Parameters.AddWithValue("$chitty", (object?)row.ChittyId ?? DBNull.Value);
                command.Parameters.AddWithValue("$uri", row.FileUri);
                command.Parameters.AddWithValue("$name", (object?)row.FileName ?? DBNull.Value);
                command.Parameters.AddWithValue("$size", (object?)row.FileSize ?? DBNull.Value);
                command.Parameters.AddWithValue("$sha", (object?)row.Sha256 ?? DBNull.Value);
                command.Parameters.AddWithValue("$mime", (object?)row.MimeType ?? DBNull.Value);
                command.Parameters.AddWithValue("$active", row.IsActive ? 1 : 0);
                command.Parameters.AddWithValue("$accessed", row.LastAccessed);
                command.Parameters.AddWithValue("$synced", row.SyncedAt);
                command.Parameters.AddWithValue("$metadata", (object?)row.Metadata ?? DBNull.Value);
                command.ExecuteNonQuery();
            }

            transaction.Commit();
            return true;
        });

    /// <summary>Active files of a session, newest first (ties: the most recently written first).</summary>
    public Task<List<ContextFileRow>> ListContextFilesAsync(string? sessionId, bool activeOnly, int? limit) =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            var where = new List<string>();
            if (sessionId is not null)
            {
                where.Add("session_id = $session");
                command.Parameters.AddWithValue("$session", sessionId);
            }

            if (activeOnly)
            {
                where.Add("is_active = 1");
            }

            command.CommandText = $"""
                SELECT id, session_id, chitty_id, file_uri, file_name, file_size, sha256, mime_type, is_active,
                       last_accessed, synced_at, metadata
                FROM context_files
                {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : string.Empty)}
                ORDER BY last_accessed DESC, rowid DESC
                {(limit is { } n ? "LIMIT " + n : string.Empty)}
                """;
            return ReadAll(command, reader => new ContextFileRow(
                reader.GetString(0),
                reader.GetString(1),
                NullableString(reader, 2),
                reader.GetString(3),
                NullableString(reader, 4),
                NullableInt64(reader, 5),
                NullableString(reader, 6),
                NullableString(reader, 7),
                !reader.IsDBNull(8) && reader.GetInt64(8) != 0,
                Int64OrZero(reader, 9),
                Int64OrZero(reader, 10),
                NullableString(reader, 11)));
        });

    // Sync events ----------------------------------------------------------------------------------

    public Task InsertSyncEventAsync(SyncEventRow row) =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO sync_events
                (event_id, session_id, event_type, source, items_count, bytes_synced, status, error_message, synced_at, metadata)
                VALUES ($id, $session, $type, $source, $count, $bytes, $status, $error, $synced, $metadata)
                """;
            command.Parameters.AddWithValue("$id", row.EventId);
            command.Parameters.AddWithValue("$session", row.SessionId);
            command.Parameters.AddWithValue("$type", row.EventType);
            command.Parameters.AddWithValue("$source", row.Source);
            command.Parameters.AddWithValue("$count", row.ItemsCount);
            command.Parameters.AddWithValue("$bytes", row.BytesSynced);
            command.Parameters.AddWithValue("$status", row.Status);
            command.Parameters.AddWithValue("$error", (object?)row.ErrorMessage ?? DBNull.Value);
            command.Parameters.AddWithValue("$synced", row.SyncedAt);
            command.Parameters.AddWithValue("$metadata", (object?)row.Metadata ?? DBNull.Value);
            return command.ExecuteNonQuery();
        });

    public Task<List<SyncEventRow>> ListSyncEventsAsync() =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT event_id, session_id, event_type, source, items_count, bytes_synced, status, error_message,
                       synced_at, metadata
                FROM sync_events ORDER BY rowid
                """;
            return ReadAll(command, reader => new SyncEventRow(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                NullableString(reader, 3) ?? string.Empty,
                Int64OrZero(reader, 4),
                Int64OrZero(reader, 5),
                NullableString(reader, 6) ?? string.Empty,
                NullableString(reader, 7),
                Int64OrZero(reader, 8),
                NullableString(reader, 9)));
        });

    // Upload tokens --------------------------------------------------------------------------------

    public Task InsertUploadTokenAsync(UploadTokenRow row) =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO upload_tokens (token, r2_key, session_id, chitty_id, name, size, mime, sha256, expires_at)
                VALUES ($token, $key, $session, $chitty, $name, $size, $mime, $sha, $expires)
                """;
            command.Parameters.AddWithValue("$token", row.Token);
            command.Parameters.AddWithValue("$key", row.R2Key);
            command.Parameters.AddWithValue("$session", row.SessionId);
            command.Parameters.AddWithValue("$chitty", row.ChittyId);
            command.Parameters.AddWithValue("$name", row.Name);
            command.Parameters.AddWithValue("$size", (object?)row.Size ?? DBNull.Value);
            command.Parameters.AddWithValue("$mime", (object?)row.Mime ?? DBNull.Value);
            command.Parameters.AddWithValue("$sha", (object?)row.Sha256 ?? DBNull.Value);
            command.Parameters.AddWithValue("$expires", row.ExpiresAtMs);
            return command.ExecuteNonQuery();
        });

    /// <summary>The token if it exists and has not expired (KV drops expired entries).</summary>
    public Task<UploadTokenRow?> GetUploadTokenAsync(string token, long nowMs) =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT token, r2_key, session_id, chitty_id, name, size, mime, sha256, expires_at
                FROM upload_tokens WHERE token = $token AND expires_at > $now
                """;
            command.Parameters.AddWithValue("$token", token);
            command.Parameters.AddWithValue("$now", nowMs);
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            return new UploadTokenRow(
                reader.GetString(0),
                reader.GetString(1),
                reader.GetString(2),
                reader.GetString(3),
                reader.GetString(4),
                NullableInt64(reader, 5),
                NullableString(reader, 6),
                NullableString(reader, 7),
                reader.GetInt64(8));
        });

    public Task DeleteUploadTokenAsync(string token) =>
        RunAsync(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = "DELETE FROM upload_tokens WHERE token = $token";
            command.Parameters.AddWithValue("$token", token);
            return command.ExecuteNonQuery();
        });

    public void Dispose()
    {
        _gate.Dispose();
    }

    private static string? NullableString(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetValue(ordinal).ToString();

    private static long? NullableInt64(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    private static long Int64OrZero(SqliteDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? 0 : reader.GetInt64(ordinal);

    // Every row the command returns, in order, mapped; a row the map answers null for is left out.
    private static List<T> ReadAll<T>(SqliteCommand command, Func<SqliteDataReader, T?> map)
        where T : class
    {
        var result = new List<T>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (map(reader) is { } row)
            {
                result.Add(row);
            }
        }

        return result;
    }

    private async Task<T> RunAsync<T>(Func<SqliteConnection, T> work)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            return work(connection);
        }
        finally
        {
            _gate.Release();
        }
    }

    private T Execute<T>(Func<SqliteConnection, T> work)
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return work(connection);
    }
}
