using System;
using System.Collections.Generic;
using System.IO;

namespace ChittyConnect.Api;

/// <summary>MIME types by file extension; the service needs one on every presigned upload.</summary>
public static class MimeTypes
{
    /// <summary>The type of anything unknown.</summary>
    public const string Default = "application/octet-stream";

    private static readonly Dictionary<string, string> s_byExtension = new(StringComparer.OrdinalIgnoreCase)
    {
        [".txt"] = "text/plain", [".md"] = "text/markdown", [".csv"] = "text/csv", [".tsv"] = "text/tab-separated-values",
        [".log"] = "text/plain", [".html"] = "text/html", [".htm"] = "text/html", [".css"] = "text/css",
        [".js"] = "text/javascript", [".mjs"] = "text/javascript", [".json"] = "application/json", [".xml"] = "application/xml",
        [".yaml"] = "application/yaml", [".yml"] = "application/yaml", [".ps1"] = "text/plain", [".psm1"] = "text/plain",
        [".psd1"] = "text/plain", [".cs"] = "text/plain", [".py"] = "text/x-python", [".sh"] = "application/x-sh",
        [".pdf"] = "application/pdf", [".rtf"] = "application/rtf", [".zip"] = "application/zip", [".gz"] = "application/gzip",
        [".tar"] = "application/x-tar", [".7z"] = "application/x-7z-compressed",
        [".doc"] = "application/msword", [".docx"] = "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        [".xls"] = "application/vnd.ms-excel", [".xlsx"] = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        [".ppt"] = "application/vnd.ms-powerpoint", [".pptx"] = "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        [".odt"] = "application/vnd.oasis.opendocument.text", [".epub"] = "application/epub+zip",
        [".png"] = "image/png", [".jpg"] = "image/jpeg", [".jpeg"] = "image/jpeg", [".gif"] = "image/gif", [".webp"] = "image/webp",
        [".svg"] = "image/svg+xml", [".bmp"] = "image/bmp", [".tif"] = "image/tiff", [".tiff"] = "image/tiff", [".ico"] = "image/x-icon",
        [".heic"] = "image/heic", [".mp3"] = "audio/mpeg", [".wav"] = "audio/wav", [".ogg"] = "audio/ogg", [".m4a"] = "audio/mp4",
        [".flac"] = "audio/flac", [".mp4"] = "video/mp4", [".mov"] = "video/quicktime", [".webm"] = "video/webm", [".mkv"] = "video/x-matroska",
        [".wasm"] = "application/wasm", [".sqlite"] = "application/vnd.sqlite3", [".db"] = "application/octet-stream",
    };

    /// <summary>The MIME type for a file name.</summary>
    public static string ForFileName(string fileName) =>
        s_byExtension.TryGetValue(Path.GetExtension(fileName) ?? string.Empty, out var mime) ? mime : Default;
}
