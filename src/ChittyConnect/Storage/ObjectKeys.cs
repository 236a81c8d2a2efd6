namespace ChittyConnect.Storage;

/// <summary>Which object keys a path-style S3 request can carry exactly.</summary>
internal static class ObjectKeys
{
    /// <summary>True when a key has a "." or ".." segment, which System.Uri would fold into another key.</summary>
    public static bool HasDotSegment(string key)
    {
        foreach (var segment in key.Split('/'))
        {
            if (segment is "." or "..")
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// True when a key holds a character XML 1.0 cannot carry (C0 controls but tab, line feed and carriage
    /// return; U+FFFE, U+FFFF; a lone surrogate): a DeleteObjects body cannot name such a key.
    /// </summary>
    public static bool HasXmlForbiddenCharacter(string key)
    {
        for (var i = 0; i < key.Length; i++)
        {
            var c = key[i];
            if (char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1]))
            {
                i++;
                continue;
            }

            if ((c < 0x20 && c is not '\t' and not '\n' and not '\r') || c is '\uFFFE' or '\uFFFF' || char.IsSurrogate(c))
            {
                return true;
            }
        }

        return false;
    }
}
