using System;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Events;

/// <summary>
/// An incremental parser for the <c>text/event-stream</c> format as the WHATWG HTML standard defines it
/// (section "Interpreting an event stream"). Bytes may be fed in pieces of any size and split anywhere, including
/// inside a UTF-8 sequence or between the CR and LF of a CRLF.
/// </summary>
/// <remarks>
/// An event larger than <see cref="MaxEventBytes"/> (its data plus the line being read) is skipped whole with one
/// warning, so a hostile or broken server cannot make the parser buffer without bound. Comment lines are never
/// buffered, whatever their length. Not thread-safe: feed one parser from one reader.
/// </remarks>
public sealed class SseParser
{
    /// <summary>The default cap on one event: 16 MiB.</summary>
    public const int DefaultMaxEventBytes = 16 * 1024 * 1024;

    private const char ByteOrderMark = '\uFEFF';

    private readonly Action<SseMessage> _onMessage;
    private readonly Action<string>? _onWarning;
    private readonly Decoder _decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetDecoder();
    private readonly StringBuilder _line = new();
    private readonly StringBuilder _data = new();
    private char[] _chars = new char[0];

    private string _eventType = string.Empty;
    private string? _lastEventIdBuffer;
    private bool _atStart = true;
    private bool _afterCr;
    private bool _inComment;
    private bool _discarding;
    private long _eventBytes;

    // Counted apart from _line because comment and skipped lines are not buffered, yet a blank line must be told
    // from them.
    private long _lineChars;

    /// <summary>Creates a parser.</summary>
    /// <param name="onMessage">Called for each dispatched event, synchronously, from inside <c>Feed</c>.</param>
    /// <param name="onWarning">Called with a message when an oversized event is skipped.</param>
    /// <param name="maxEventBytes">The largest event, in UTF-8 bytes of its field lines, that is kept.</param>
    public SseParser(Action<SseMessage> onMessage, Action<string>? onWarning = null, int maxEventBytes = DefaultMaxEventBytes)
    {
        if (maxEventBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxEventBytes), maxEventBytes, "The maximum event size must be positive.");
        }

        _onMessage = onMessage ?? throw new ArgumentNullException(nameof(onMessage));
        _onWarning = onWarning;
        MaxEventBytes = maxEventBytes;
    }

    /// <summary>The cap on one event's size in UTF-8 bytes.</summary>
    public int MaxEventBytes { get; }

    /// <summary>
    /// The last event ID string: the value of the last <c>id:</c> field of a dispatched event (an empty value resets it
    /// to empty). <see langword="null"/> until an event with an ID is dispatched. Send it as <c>Last-Event-ID</c> on reconnect.
    /// </summary>
    public string? LastEventId { get; private set; }

    /// <summary>The reconnection time in milliseconds that the server last asked for with <c>retry:</c>, if any.</summary>
    public int? RetryMilliseconds { get; private set; }

    /// <summary>Feeds the next bytes of the stream.</summary>
    public void Feed(byte[] buffer, int offset, int count)
    {
        if (buffer is null)
        {
            throw new ArgumentNullException(nameof(buffer));
        }

        if (offset < 0 || count < 0 || offset > buffer.Length - count)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        if (count == 0)
        {
            return;
        }

        var needed = _decoder.GetCharCount(buffer, offset, count, flush: false);
        if (_chars.Length < needed)
        {
            _chars = new char[Math.Max(needed, 4096)];
        }

        var decoded = _decoder.GetChars(buffer, offset, count, _chars, 0, flush: false);
        Feed(_chars, 0, decoded);
    }

    /// <summary>Feeds the next characters of an already decoded stream.</summary>
    public void Feed(char[] chars, int offset, int count)
    {
        if (chars is null)
        {
            throw new ArgumentNullException(nameof(chars));
        }

        if (offset < 0 || count < 0 || offset > chars.Length - count)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        var end = offset + count;
        var i = offset;
        if (_atStart && i < end)
        {
            _atStart = false;

            // The UTF-8 decode step of the standard strips one leading BOM.
            if (chars[i] == ByteOrderMark)
            {
                i++;
            }
        }

        while (i < end)
        {
            var c = chars[i];
            if (_afterCr)
            {
                _afterCr = false;
                if (c == '\n')
                {
                    i++;
                    continue;
                }
            }

            if (c == '\r' || c == '\n')
            {
                _afterCr = c == '\r';
                EndLine();
                i++;
                continue;
            }

            // Take the run of ordinary characters up to the next line end in one go.
            var runStart = i;
            while (i < end && chars[i] != '\r' && chars[i] != '\n')
            {
                i++;
            }

            AppendToLine(chars, runStart, i - runStart);
        }
    }

    /// <summary>
    /// Signals the end of the stream. An event that was not ended by a blank line is discarded, as the standard
    /// says; the parser is ready for a new stream afterwards, keeping <see cref="LastEventId"/> and
    /// <see cref="RetryMilliseconds"/>.
    /// </summary>
    public void Complete()
    {
        _decoder.Reset();
        _line.Clear();
        _data.Clear();
        _eventType = string.Empty;
        _lastEventIdBuffer = LastEventId;
        _atStart = true;
        _afterCr = false;
        _inComment = false;
        _discarding = false;
        _eventBytes = 0;
        _lineChars = 0;
    }

    /// <summary>
    /// Reads <paramref name="stream"/> to its end, feeding every byte to the parser, then calls <see cref="Complete"/>.
    /// </summary>
    /// <param name="stream">The response body.</param>
    /// <param name="onRead">Called after every successful read with the byte count, before the bytes are parsed.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task ReadToEndAsync(Stream stream, Action<int>? onRead, CancellationToken cancellationToken)
    {
        if (stream is null)
        {
            throw new ArgumentNullException(nameof(stream));
        }

        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await stream.ReadAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            onRead?.Invoke(read);
            Feed(buffer, 0, read);
        }

        Complete();
    }

    private void AppendToLine(char[] chars, int start, int length)
    {
        if (length == 0)
        {
            return;
        }

        var lineStart = _lineChars == 0;
        _lineChars += length;
        if (_discarding)
        {
            return;
        }

        if (_inComment || (lineStart && chars[start] == ':'))
        {
            // A comment's content is never used, so it costs nothing however long it is.
            _inComment = true;
            return;
        }

        _eventBytes += Utf8Length(chars, start, length);
        if (_eventBytes > MaxEventBytes)
        {
            _discarding = true;
            _line.Clear();
            _data.Clear();
            _onWarning?.Invoke($"A server-sent event larger than {MaxEventBytes} bytes was skipped.");
            return;
        }

        _line.Append(chars, start, length);
    }

    private void EndLine()
    {
        var blank = _lineChars == 0;
        var wasComment = _inComment;
        _lineChars = 0;
        _inComment = false;
        if (_discarding)
        {
            // The skipped event ends at the next blank line; the lines in between are dropped, fields included.
            if (blank)
            {
                _discarding = false;
                ResetEvent();
            }

            return;
        }

        if (wasComment)
        {
            return;
        }

        if (blank)
        {
            Dispatch();
            return;
        }

        var line = _line.ToString();
        _line.Clear();
        ProcessField(line);
    }

    private void ProcessField(string line)
    {
        string field;
        string value;
        var colon = line.IndexOf(':');
        if (colon < 0)
        {
            field = line;
            value = string.Empty;
        }
        else
        {
            field = line.Substring(0, colon);
            var valueStart = colon + 1;
            if (valueStart < line.Length && line[valueStart] == ' ')
            {
                valueStart++;
            }

            value = line.Substring(valueStart);
        }

        switch (field)
        {
            case "event":
                _eventType = value;
                break;
            case "data":
                _data.Append(value).Append('\n');
                break;
            case "id":
                if (value.IndexOf('\0') < 0)
                {
                    _lastEventIdBuffer = value;
                }

                break;
            case "retry":
                if (value.Length > 0 && IsAsciiDigits(value) && int.TryParse(value, out var retry))
                {
                    RetryMilliseconds = retry;
                }

                break;
            default:
                // Unknown fields are ignored.
                break;
        }
    }

    private void Dispatch()
    {
        LastEventId = _lastEventIdBuffer;
        if (_data.Length == 0)
        {
            ResetEvent();
            return;
        }

        var length = _data.Length;
        if (_data[length - 1] == '\n')
        {
            length--;
        }

        var message = new SseMessage(
            _eventType.Length == 0 ? "message" : _eventType,
            _data.ToString(0, length),
            LastEventId);
        ResetEvent();
        _onMessage(message);
    }

    private void ResetEvent()
    {
        _data.Clear();
        _line.Clear();
        _eventType = string.Empty;
        _eventBytes = 0;
    }

    private static bool IsAsciiDigits(string value)
    {
        foreach (var c in value)
        {
            if (c < '0' || c > '9')
            {
                return false;
            }
        }

        return true;
    }

    private static long Utf8Length(char[] chars, int start, int length)
    {
        long bytes = 0;
        var end = start + length;
        for (var i = start; i < end; i++)
        {
            var c = chars[i];
            if (c < 0x80)
            {
                bytes += 1;
            }
            else if (c < 0x800)
            {
                bytes += 2;
            }
            else if (char.IsHighSurrogate(c))
            {
                // With its low surrogate (counted as 0 below) a pair is 4 bytes.
                bytes += 4;
            }
            else if (char.IsLowSurrogate(c))
            {
                bytes += 0;
            }
            else
            {
                bytes += 3;
            }
        }

        return bytes;
    }
}
