namespace Gated.Interop;

/// <summary>
/// A model cannot be expressed in the requested format (a GRU with a hard-sigmoid gate written as a
/// PyTorch state_dict, a two-layer stack written as one Keras layer), or an option contradicts what a
/// file says (<c>--reset before</c> for a Keras GRU whose bias says <c>reset_after=True</c>). The
/// message names the problem and is meant to be shown to a user as it is.
/// </summary>
public sealed class InteropException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What cannot be done, and why.</param>
    public InteropException(string message) : base(message) { }

    /// <summary>Creates the exception with the exception that caused it.</summary>
    public InteropException(string message, Exception innerException) : base(message, innerException) { }
}
