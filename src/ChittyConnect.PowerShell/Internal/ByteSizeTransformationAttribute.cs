using System;
using System.Globalization;
using System.Management.Automation;
using ChittyConnect.Storage;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>
/// Takes a size as rclone does (<c>1M</c>, <c>512K</c>, <c>10MiB</c>, plain bytes; <see cref="ByteSize"/>) or a
/// number, and refuses a fraction of a byte instead of rounding it (PowerShell would bind 0.5 to a long as 0,
/// which is "unlimited").
/// </summary>
internal sealed class ByteSizeTransformationAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject wrapped ? wrapped.BaseObject : inputData;
        try
        {
            return value switch
            {
                int or long or short or byte or uint or ushort or sbyte => Convert.ToInt64(value, CultureInfo.InvariantCulture),
                double or float or decimal => ByteSize.Parse(Convert.ToDecimal(value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture)),
                // A whole number as text is bytes as it is, so a negative one reaches ValidateRange like a number.
                string text when long.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowLeadingWhite | NumberStyles.AllowTrailingWhite, CultureInfo.InvariantCulture, out var bytes) => bytes,
                string text => ByteSize.Parse(text),
                _ => inputData,
            };
        }
        catch (FormatException ex)
        {
            throw new ArgumentTransformationMetadataException(ex.Message, ex);
        }
    }
}
