using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>Turns PowerShell values (hashtables, PSObjects, arrays) into plain values the library can serialize.</summary>
internal static class PSValues
{
    public static IDictionary<string, object?> ToDictionary(IDictionary hashtable)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in hashtable)
        {
            result[Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty] = ToPlain(entry.Value);
        }

        return result;
    }

    public static object? ToPlain(object? value)
    {
        if (value is PSObject psObject)
        {
            if (psObject.BaseObject is PSCustomObject)
            {
                return psObject.Properties.ToDictionary(p => p.Name, p => ToPlain(p.Value));
            }

            value = psObject.BaseObject;
        }

        return value switch
        {
            null => null,
            string or bool or DateTime or DateTimeOffset or Guid => value,
            IDictionary dictionary => ToDictionary(dictionary),
            IEnumerable sequence => sequence.Cast<object?>().Select(ToPlain).ToList(),
            _ when value.GetType().IsPrimitive || value is decimal => value,
            _ => value.ToString(),
        };
    }

    /// <summary>Turns the library's dictionaries and lists into PSCustomObjects and arrays for output.</summary>
    public static object? ToPSObject(object? value) => value switch
    {
        IDictionary<string, object?> dictionary => ToPSCustomObject(dictionary),
        IList<object?> list => list.Select(ToPSObject).ToArray(),
        _ => value,
    };

    private static PSObject ToPSCustomObject(IDictionary<string, object?> dictionary)
    {
        var result = new PSObject();
        foreach (var pair in dictionary)
        {
            result.Properties.Add(new PSNoteProperty(pair.Key, ToPSObject(pair.Value)));
        }

        return result;
    }
}
