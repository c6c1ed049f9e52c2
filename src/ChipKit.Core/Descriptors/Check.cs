namespace ChipKit.Core.Descriptors;

/// <summary>Validation helpers that throw <see cref="ChipKitInputException"/> naming the field.</summary>
public static class Check
{
    /// <summary>Largest element count of one tensor ChipKit will allocate (arrays are int-indexed).</summary>
    public const long MaxElements = int.MaxValue / 2;

    public static void Positive(int value, string field)
    {
        if (value <= 0)
        {
            throw new ChipKitInputException($"{field} must be a positive integer, got {value}");
        }
    }

    public static void NonNegative(int value, string field)
    {
        if (value < 0)
        {
            throw new ChipKitInputException($"{field} must be >= 0, got {value}");
        }
    }

    public static void Finite(float value, string field)
    {
        if (!float.IsFinite(value))
        {
            throw new ChipKitInputException($"{field} must be a finite number, got {value}");
        }
    }

    public static void ElementCount(long count, string what)
    {
        if (count <= 0 || count > MaxElements)
        {
            throw new ChipKitInputException($"{what} would have {count} elements; the limit is {MaxElements}");
        }
    }
}
