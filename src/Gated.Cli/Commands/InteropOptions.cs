using System.CommandLine;
using System.Text.Json;
using Gated.Interop;
using Gated.Kernels;
using Gated.Layers;

namespace Gated.Cli.Commands;

/// <summary>
/// The options <c>gated run</c> and <c>gated convert</c> share: what a PyTorch state_dict or Keras weights
/// cannot say about themselves (GRU conventions, RNN non-linearity, Keras activations, batch-first), and
/// the module prefix. Each is null unless given, so the file's own hints and the framework defaults apply.
/// </summary>
internal sealed class InteropOptions
{
    public Option<bool> BatchFirst { get; } = new("--batch-first") { Description = "Tensors are (B, T, ·) instead of (T, B, ·). Default: as the model file says, else time-major." };
    public Option<string?> UpdateGate { get; } = NullableChoice("--update-gate", "GRU update gate: keep-previous (h = z⊙h + (1−z)⊙ĥ; PyTorch, Keras) or take-candidate (Chung et al.). Default: as the file says, else keep-previous.", "keep-previous", "take-candidate");
    public Option<string?> Reset { get; } = NullableChoice("--reset", "GRU reset gate after the recurrent product (PyTorch, Keras reset_after=True) or before it (Cho et al., Keras reset_after=False). Default: as the file says, else after.", "after", "before");
    public Option<string?> Nonlinearity { get; } = NullableChoice("--nonlinearity", "The plain RNN's non-linearity. Default: as the file says, else tanh.", "tanh", "relu");
    public Option<string?> Prefix { get; } = new("--prefix") { Description = "The module prefix of the recurrent tensors in the model file (gru. in gru.weight_ih_l0, gru/ in gru/kernel). Default: the only one there is.", HelpName = "PREFIX" };
    public Option<string?> Activation { get; } = KerasActivation("--activation", "Keras weights: the layer's activation (candidate / cell). Default: as the file says, else tanh.");
    public Option<string?> RecurrentActivation { get; } = KerasActivation("--recurrent-activation", "Keras weights: the gates' activation: sigmoid, hard_sigmoid (Keras 3: x/6+½), hard_sigmoid_keras2 (0.2x+½). Default: as the file says, else sigmoid.");

    /// <summary>Adds every option to a command.</summary>
    public void AddTo(Command command)
    {
        foreach (Option option in new Option[] { BatchFirst, UpdateGate, Reset, Nonlinearity, Prefix, Activation, RecurrentActivation })
            command.Options.Add(option);
    }

    /// <summary>The library options for what was given on the command line.</summary>
    public ModelImportOptions Read(ParseResult parse) => new()
    {
        Prefix = parse.GetValue(Prefix),
        BatchFirst = parse.GetValue(BatchFirst) ? true : null,
        UpdateGate = parse.GetValue(UpdateGate)?.ToLowerInvariant() switch
        {
            "keep-previous" => UpdateGateConvention.KeepPrevious,
            "take-candidate" => UpdateGateConvention.TakeCandidate,
            _ => null,
        },
        Reset = parse.GetValue(Reset)?.ToLowerInvariant() switch
        {
            "after" => ResetGatePosition.AfterProduct,
            "before" => ResetGatePosition.BeforeProduct,
            _ => null,
        },
        RnnNonlinearity = parse.GetValue(Nonlinearity)?.ToLowerInvariant() switch
        {
            "tanh" => Kernels.Activation.Tanh,
            "relu" => Kernels.Activation.Relu,
            _ => null,
        },
        Activation = ParseActivation(parse.GetValue(Activation)),
        RecurrentActivation = ParseActivation(parse.GetValue(RecurrentActivation)),
    };

    /// <summary>The <see cref="Guard"/> description of the errors interop adds: an <see cref="InteropException"/>'s message.</summary>
    public static string? Describe(Exception ex) => ex is InteropException ? ex.Message : null;

    /// <summary>Notes on stderr, one line each, unless the output is JSON (where they are in the document).</summary>
    public static void PrintNotes(string command, IEnumerable<string> notes)
    {
        foreach (string note in notes) Console.Error.WriteLine($"gated {command}: note: {note}");
    }

    /// <summary>Writes a string array property.</summary>
    public static void WriteStrings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (string v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    /// <summary>The format's name on the command line and in JSON.</summary>
    public static string FormatName(ModelFormat format) => format switch
    {
        ModelFormat.Gated => "gated",
        ModelFormat.GatedMusicModel => "gated-music-model",
        ModelFormat.PyTorchStateDict => "pytorch",
        ModelFormat.Keras => "keras",
        _ => "onnx",
    };

    private static Activation? ParseActivation(string? text) => text is null ? null : KerasLayout.TryParseActivation(text, out var a) ? a : null;

    private static Option<string?> NullableChoice(string name, string description, params string[] choices)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = string.Join('|', choices) };
        option.Validators.Add(result =>
        {
            if (CommonOptions.TryGetValue(result, out string? value) && value is not null && !choices.Contains(value.ToLowerInvariant()))
                result.AddError($"{name} must be {string.Join(" or ", choices)}, got '{value}'.");
        });
        return option;
    }

    private static Option<string?> KerasActivation(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description, HelpName = "NAME" };
        option.Validators.Add(result =>
        {
            if (CommonOptions.TryGetValue(result, out string? value) && value is not null && !KerasLayout.TryParseActivation(value, out _))
                result.AddError($"{name}: '{value}' is not an activation Gated knows (sigmoid, hard_sigmoid, hard_sigmoid_keras2, tanh, relu, linear, softsign, elu).");
        });
        return option;
    }
}
