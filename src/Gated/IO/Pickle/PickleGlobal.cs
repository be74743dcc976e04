namespace Gated.IO.Pickle;

/// <summary>
/// A reference to one of the allow-listed globals (for example <c>numpy.dtype</c>) that a pickle
/// named with GLOBAL or STACK_GLOBAL and did not call. It is an inert name: nothing is looked up,
/// loaded or invoked. <see cref="PickleReader"/> only returns it when a pickle holds such a
/// reference as data; every global outside the allow-list is refused when it is read.
/// </summary>
/// <param name="Module">The module name as written in the pickle, e.g. <c>numpy</c>.</param>
/// <param name="Name">The qualified name inside the module, e.g. <c>dtype</c>.</param>
public sealed record PickleGlobal(string Module, string Name)
{
    /// <summary>What the reader does with the global when a pickle calls it.</summary>
    internal PickleGlobalKind Kind { get; init; }

    /// <summary>The dotted name, e.g. <c>numpy.dtype</c>.</summary>
    public override string ToString() => $"{Module}.{Name}";
}
