namespace ChipKit.Core;

/// <summary>
/// A user error: a malformed workload spec, an unreadable file, a field with an impossible value.
/// The message names the argument, file or field and what was expected. The CLI prints it
/// without a stack trace and exits with code 2.
/// </summary>
public sealed class ChipKitInputException : Exception
{
    public ChipKitInputException(string message) : base(message) { }
    public ChipKitInputException(string message, Exception inner) : base(message, inner) { }
    public ChipKitInputException() { }
}
