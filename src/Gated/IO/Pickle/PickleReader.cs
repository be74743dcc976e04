using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using Op = Gated.IO.Pickle.PickleOpcodes;

namespace Gated.IO.Pickle;

/// <summary>
/// Reads Python pickles (protocols 0–5) as plain data, without running any code: a stack machine
/// over the data opcodes that builds .NET values, plus a small allow-list of numpy and builtin
/// data constructors that it evaluates itself.
/// </summary>
/// <remarks>
/// <para><b>Values.</b> None → <c>null</c>; bool → <see cref="bool"/>; int → <see cref="long"/>,
/// or <see cref="BigInteger"/> beyond 64 bits; float → <see cref="double"/>; str →
/// <see cref="string"/>; bytes and bytearray → <c>byte[]</c>; list → <c>List&lt;object?&gt;</c>;
/// tuple → <see cref="PickleTuple"/>; dict → <see cref="PickleDict"/> (insertion order, Python key
/// equality); set and frozenset → <see cref="PickleSet"/>. A Python 2 <c>str</c> (opcodes STRING,
/// BINSTRING, SHORT_BINSTRING) is decoded as Latin-1, which keeps every byte (Python 3 does the
/// same with <c>encoding='latin1'</c>, the setting numpy recommends for Python 2 pickles).</para>
/// <para><b>Globals.</b> GLOBAL, STACK_GLOBAL and INST may only name these data constructors,
/// which the reader evaluates itself: <c>numpy.dtype</c> (→ <see cref="NumpyDType"/>, with BUILD
/// setting its byte order), <c>numpy.core.multiarray.scalar</c> (→ the number, decoded from the
/// bytes per the dtype), <c>numpy.core.multiarray._reconstruct</c> with <c>numpy.ndarray</c> and
/// <c>numpy.core.numeric._frombuffer</c> (→ <see cref="NumpyArray"/>; also under the numpy 2
/// module names <c>numpy._core…</c>), and the builtins Python uses to write bytes and sets at low
/// protocols: <c>_codecs.encode</c>, <c>builtins.set</c>, <c>frozenset</c>, <c>bytearray</c> and
/// <c>bytes</c> (also as <c>__builtin__</c>). Any other global — <c>os.system</c>,
/// <c>builtins.eval</c>, <c>subprocess.Popen</c>, any class — is refused when the pickle names it,
/// before anything else happens, as are persistent IDs (PERSID, BINPERSID), the extension registry
/// (EXT1/2/4) and out-of-band buffers (NEXT_BUFFER, READONLY_BUFFER). Nothing is ever loaded,
/// looked up by reflection or invoked.</para>
/// <para><b>Errors.</b> Every problem — truncated input, a missing STOP, stack underflow, a MARK
/// that is missing, a memo key that is not defined, an unhashable dict key, a refused global, a
/// limit of <see cref="PickleLimits"/> exceeded, bytes after STOP (unless
/// <see cref="PickleLimits.AllowTrailingBytes"/>) — throws <see cref="GatedFormatException"/>
/// naming the input, the byte offset and the opcode; no other exception type escapes
/// <see cref="Read(ReadOnlySpan{byte}, string?, PickleLimits?)"/>. Lengths are checked against
/// the remaining input before allocation, and total work is bounded in proportion to the input
/// size, so any input is rejected or read in time linear in its size.</para>
/// <para>Like Python, STOP returns the top of the stack and ignores anything left below it; FRAME
/// is checked to fit in the input and otherwise treated as the prefetch hint it is.</para>
/// </remarks>
public static class PickleReader
{
    /// <summary>Reads a pickle from memory.</summary>
    /// <param name="bytes">The whole pickle.</param>
    /// <param name="sourceName">A name for the input in error messages, e.g. its path; null for none.</param>
    /// <param name="limits">The limits to enforce; null for <see cref="PickleLimits.Default"/>.</param>
    /// <returns>The value the pickle holds (see the remarks of <see cref="PickleReader"/> for the types).</returns>
    /// <exception cref="GatedFormatException">The bytes are not a pickle this reader accepts; the message says where and why.</exception>
    public static object? Read(ReadOnlySpan<byte> bytes, string? sourceName = null, PickleLimits? limits = null)
    {
        var machine = new Machine(bytes, limits ?? PickleLimits.Default);
        try
        {
            return machine.Run();
        }
        catch (PickleDataException ex)
        {
            throw new GatedFormatException(sourceName, $"{machine.Where()}: {ex.Message}");
        }
        catch (InsufficientExecutionStackException)
        {
            throw new GatedFormatException(sourceName, $"{machine.Where()}: values are nested too deeply to compare.");
        }
        catch (Exception ex) when (ex is not GatedFormatException)
        {
            // Not expected: every check above is explicit. Kept so that no other type escapes.
            string prefix = sourceName is null ? "" : sourceName + ": ";
            throw new GatedFormatException($"{prefix}{machine.Where()}: the pickle could not be read ({ex.GetType().Name}: {ex.Message})", ex);
        }
    }

    /// <summary>Reads a pickle file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="limits">The limits to enforce; null for <see cref="PickleLimits.Default"/>.</param>
    /// <returns>The value the pickle holds.</returns>
    /// <exception cref="GatedFormatException">The file is not a pickle this reader accepts, or is larger than <see cref="PickleLimits.MaxInputLength"/>.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be read.</exception>
    public static object? Read(string path, PickleLimits? limits = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        limits ??= PickleLimits.Default;
        byte[] bytes = BoundedFile.ReadAllBytes(path, limits.MaxInputLength, "a pickle");
        return Read(bytes, path, limits);
    }

    /// <summary>Python's <c>repr</c> of a value returned by <see cref="Read(ReadOnlySpan{byte}, string?, PickleLimits?)"/>,
    /// shortened to about <paramref name="maxLength"/> characters; safe on cyclic and deep values.</summary>
    /// <param name="value">The value.</param>
    /// <param name="maxLength">The length after which the text is cut and ends with "…".</param>
    /// <returns>E.g. <c>{'train': [[(60, 64), ...]]}</c>.</returns>
    public static string Format(object? value, int maxLength = 1000) => PickleText.Repr(value, Math.Max(1, maxLength));

    /// <summary>The unpickling state machine.</summary>
    private ref struct Machine
    {
        private readonly ReadOnlySpan<byte> _data;
        private readonly PickleLimits _limits;
        private readonly List<object?> _stack = [];
        private readonly List<int> _marks = [];
        private readonly Memo _memo = new();
        private readonly Dictionary<object, int> _depths = new(ReferenceEqualityComparer.Instance); // containers nested ≥ 2 deep
        private int _pos;
        private long _budget;
        private int _opOffset = -1;
        private int _op = -1;

        public Machine(ReadOnlySpan<byte> data, PickleLimits limits)
        {
            _data = data;
            _limits = limits;
            long proportional = limits.ElementsPerInputByte * (long)data.Length + 65536;
            _budget = Math.Min(limits.MaxElements, proportional);
        }

        /// <summary>"byte 17, opcode REDUCE ('R')" for the opcode being executed.</summary>
        public readonly string Where() =>
            _op < 0 ? $"byte {Math.Max(0, _opOffset)}" : $"byte {_opOffset}, opcode {Op.Describe((byte)_op)}";

        private readonly int Floor => _marks.Count == 0 ? 0 : _marks[^1];

        private readonly int Remaining => _data.Length - _pos;

        // One long-running interpreter loop: compile it optimized at once rather than through tiering and OSR.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public object? Run()
        {
            while (true)
            {
                _opOffset = _pos;
                _op = -1;
                if (_pos >= _data.Length)
                    throw new PickleDataException(_data.Length == 0 ? "the input is empty; a pickle ends with STOP ('.')." : "the pickle ends without a STOP opcode (truncated?).");
                byte op = _data[_pos++];
                _op = op;
                switch (op)
                {
                    case Op.Proto:
                        byte protocol = ReadByte();
                        if (protocol > Op.HighestProtocol)
                            throw new PickleDataException($"pickle protocol {protocol} is not supported (the highest is {Op.HighestProtocol}).");
                        break;
                    case Op.Frame:
                        ulong frame = ReadUInt64();
                        if (frame > (ulong)Remaining)
                            throw new PickleDataException($"the frame declares {frame} bytes but only {Remaining} remain (truncated?).");
                        break;
                    case Op.Stop:
                        object? result = Pop();
                        if (_pos < _data.Length && !_limits.AllowTrailingBytes)
                            throw new PickleDataException($"{_data.Length - _pos} byte(s) follow the STOP opcode; a pickle file holds one pickle (set PickleLimits.AllowTrailingBytes to ignore them).");
                        return result;
                    case Op.Mark:
                        if (_marks.Count >= _limits.MaxNesting)
                            throw new PickleDataException($"more than {_limits.MaxNesting} MARKs are open at once (PickleLimits.MaxNesting).");
                        _marks.Add(_stack.Count);
                        break;
                    case Op.Pop:
                        if (_stack.Count > Floor) _stack.RemoveAt(_stack.Count - 1);
                        else if (_marks.Count > 0) _marks.RemoveAt(_marks.Count - 1);
                        else throw Underflow();
                        break;
                    case Op.PopMark:
                    {
                        int mark = PopMark();
                        _stack.RemoveRange(mark, _stack.Count - mark);
                        break;
                    }
                    case Op.Dup:
                        Push(Peek());
                        break;
                    case Op.None:
                        Push(null);
                        break;
                    case Op.NewTrue:
                        Push(PickleValues.True);
                        break;
                    case Op.NewFalse:
                        Push(PickleValues.False);
                        break;
                    case Op.Int:
                    {
                        ReadOnlySpan<byte> line = ReadLine();
                        if (line.SequenceEqual("00"u8)) Push(PickleValues.False);
                        else if (line.SequenceEqual("01"u8)) Push(PickleValues.True);
                        else Push(TryParseCLong(line, out long v) ? PickleValues.Box(v) : ParseInteger(line, pythonLiteral: true));
                        break;
                    }
                    case Op.BinInt:
                        Push(PickleValues.Box(BinaryPrimitives.ReadInt32LittleEndian(Take(4))));
                        break;
                    case Op.BinInt1:
                        Push(PickleValues.Box(ReadByte()));
                        break;
                    case Op.BinInt2:
                        Push(PickleValues.Box(BinaryPrimitives.ReadUInt16LittleEndian(Take(2))));
                        break;
                    case Op.Long:
                    {
                        ReadOnlySpan<byte> line = ReadLine();
                        if (line.Length > 0 && line[^1] == (byte)'L') line = line[..^1];
                        Push(ParseInteger(line, pythonLiteral: true));
                        break;
                    }
                    case Op.Long1:
                        Push(ReadBinaryInteger(ReadByte()));
                        break;
                    case Op.Long4:
                    {
                        int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
                        if (n < 0) throw new PickleDataException($"negative length {n}.");
                        Push(ReadBinaryInteger(n));
                        break;
                    }
                    case Op.Float:
                        Push(ParseFloat(ReadLine()));
                        break;
                    case Op.BinFloat:
                        Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8)));
                        break;
                    case Op.String:
                        Push(Latin1(EscapeDecode(Unquote(ReadLine()))));
                        break;
                    case Op.BinString:
                    {
                        int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
                        if (n < 0) throw new PickleDataException($"negative length {n}.");
                        Push(Latin1(TakeValue((ulong)n, "string")));
                        break;
                    }
                    case Op.ShortBinString:
                        Push(Latin1(TakeValue(ReadByte(), "string")));
                        break;
                    case Op.Unicode:
                        Push(RawUnicodeEscapeDecode(ReadLine()));
                        break;
                    case Op.BinUnicode:
                        Push(DecodeUtf8(TakeValue(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), "string")));
                        break;
                    case Op.ShortBinUnicode:
                        Push(DecodeUtf8(TakeValue(ReadByte(), "string")));
                        break;
                    case Op.BinUnicode8:
                        Push(DecodeUtf8(TakeValue(ReadUInt64(), "string")));
                        break;
                    case Op.BinBytes:
                        Push(TakeValue(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), "bytes").ToArray());
                        break;
                    case Op.ShortBinBytes:
                        Push(TakeValue(ReadByte(), "bytes").ToArray());
                        break;
                    case Op.BinBytes8:
                    case Op.ByteArray8:
                        Push(TakeValue(ReadUInt64(), "bytes").ToArray());
                        break;
                    case Op.EmptyList:
                        Charge(1);
                        Push(new List<object?>());
                        break;
                    case Op.Append:
                    {
                        object? value = Pop();
                        if (Peek() is not List<object?> list)
                            throw new PickleDataException($"APPEND needs a list below the value, found {PickleText.Describe(Peek())}.");
                        Charge(1);
                        Nest(list, value);
                        list.Add(value);
                        break;
                    }
                    case Op.Appends:
                    {
                        int mark = PopMark();
                        object? target = Below(mark);
                        if (target is not List<object?> list)
                            throw new PickleDataException($"APPENDS needs a list below the MARK, found {PickleText.Describe(target)}.");
                        int count = _stack.Count - mark;
                        Charge(count);
                        for (int i = mark; i < _stack.Count; i++)
                        {
                            Nest(list, _stack[i]);
                            list.Add(_stack[i]);
                        }
                        _stack.RemoveRange(mark, count);
                        break;
                    }
                    case Op.List:
                    {
                        int mark = PopMark();
                        int count = _stack.Count - mark;
                        Charge(1 + count);
                        var list = _stack.GetRange(mark, count);
                        _stack.RemoveRange(mark, count);
                        foreach (object? item in list) Nest(list, item);
                        Push(list);
                        break;
                    }
                    case Op.EmptyTuple:
                        Push(PickleTuple.Empty);
                        break;
                    case Op.Tuple:
                    {
                        int mark = PopMark();
                        Push(MakeTuple(mark));
                        break;
                    }
                    case Op.Tuple1:
                    case Op.Tuple2:
                    case Op.Tuple3:
                    {
                        int n = op - Op.Tuple1 + 1;
                        if (_stack.Count - Floor < n)
                            throw new PickleDataException($"needs {n} value(s) on the stack above the last MARK, found {_stack.Count - Floor} (stack underflow).");
                        Push(MakeTuple(_stack.Count - n));
                        break;
                    }
                    case Op.EmptyDict:
                        Charge(1);
                        Push(new PickleDict());
                        break;
                    case Op.Dict:
                    {
                        int mark = PopMark();
                        var dict = new PickleDict();
                        Charge(1);
                        SetItems(dict, mark);
                        Push(dict);
                        break;
                    }
                    case Op.SetItem:
                    {
                        object? value = Pop();
                        object? key = Pop();
                        if (Peek() is not PickleDict dict)
                            throw new PickleDataException($"SETITEM needs a dict below the key and value, found {PickleText.Describe(Peek())}.");
                        SetItem(dict, key, value);
                        break;
                    }
                    case Op.SetItems:
                    {
                        int mark = PopMark();
                        object? target = Below(mark);
                        if (target is not PickleDict dict)
                            throw new PickleDataException($"SETITEMS needs a dict below the MARK, found {PickleText.Describe(target)}.");
                        SetItems(dict, mark);
                        break;
                    }
                    case Op.EmptySet:
                        Charge(1);
                        Push(new PickleSet());
                        break;
                    case Op.AddItems:
                    {
                        int mark = PopMark();
                        object? target = Below(mark);
                        if (target is not PickleSet { IsFrozen: false } set)
                            throw new PickleDataException($"ADDITEMS needs a set below the MARK, found {PickleText.Describe(target)}.");
                        for (int i = mark; i < _stack.Count; i++) AddToSet(set, _stack[i]);
                        _stack.RemoveRange(mark, _stack.Count - mark);
                        break;
                    }
                    case Op.FrozenSet:
                    {
                        int mark = PopMark();
                        var set = new PickleSet();
                        Charge(1);
                        for (int i = mark; i < _stack.Count; i++) AddToSet(set, _stack[i]);
                        _stack.RemoveRange(mark, _stack.Count - mark);
                        Push(Freeze(set));
                        break;
                    }
                    case Op.Put:
                    {
                        long index = ParseMemoIndex(ReadLine());
                        if (index < 0) throw new PickleDataException($"negative memo key {index}.");
                        MemoPut(index);
                        break;
                    }
                    case Op.BinPut:
                        MemoPut(ReadByte());
                        break;
                    case Op.LongBinPut:
                        MemoPut(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));
                        break;
                    case Op.Memoize:
                        MemoPut(_memo.Count);
                        break;
                    case Op.Get:
                        MemoGet(ParseMemoIndex(ReadLine()));
                        break;
                    case Op.BinGet:
                        MemoGet(ReadByte());
                        break;
                    case Op.LongBinGet:
                        MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));
                        break;
                    case Op.Global:
                    {
                        string module = DecodeName(ReadLine());
                        string name = DecodeName(ReadLine());
                        Push(FindGlobal(module, name));
                        break;
                    }
                    case Op.StackGlobal:
                    {
                        object? name = Pop();
                        object? module = Pop();
                        if (module is not string m || name is not string n)
                            throw new PickleDataException($"STACK_GLOBAL needs two strings (module, name), found {PickleText.Describe(module)} and {PickleText.Describe(name)}.");
                        Push(FindGlobal(m, n));
                        break;
                    }
                    case Op.Reduce:
                    {
                        object? args = Pop();
                        object? callable = Pop();
                        Push(Call(callable, args, newObject: false));
                        break;
                    }
                    case Op.NewObj:
                    {
                        object? args = Pop();
                        object? cls = Pop();
                        Push(Call(cls, args, newObject: true));
                        break;
                    }
                    case Op.NewObjEx:
                    {
                        object? kwargs = Pop();
                        object? args = Pop();
                        object? cls = Pop();
                        if (kwargs is not PickleDict { Count: 0 })
                            throw new PickleDataException($"keyword arguments to {PickleText.Describe(cls)} are not supported, found {PickleText.Describe(kwargs)}.");
                        Push(Call(cls, args, newObject: true));
                        break;
                    }
                    case Op.Inst:
                    {
                        string module = DecodeName(ReadLine());
                        string name = DecodeName(ReadLine());
                        PickleGlobal cls = FindGlobal(module, name);
                        int mark = PopMark();
                        PickleTuple args = MakeTuple(mark);
                        Push(Call(cls, args, newObject: false));
                        break;
                    }
                    case Op.Obj:
                    {
                        int mark = PopMark();
                        if (_stack.Count == mark)
                            throw new PickleDataException("OBJ needs a class after the MARK, found nothing (stack underflow).");
                        object? cls = _stack[mark];
                        PickleTuple args = MakeTuple(mark + 1);
                        _stack.RemoveAt(_stack.Count - 1); // cls
                        Push(Call(cls, args, newObject: false));
                        break;
                    }
                    case Op.Build:
                    {
                        object? state = Pop();
                        Build(Peek(), state);
                        break;
                    }
                    case Op.PersId:
                    case Op.BinPersId:
                        throw new PickleDataException("refusing a persistent ID: it refers to an object outside the pickle that only the writer's own code can resolve, and Gated's pickle reader runs no code.");
                    case Op.Ext1:
                    case Op.Ext2:
                    case Op.Ext4:
                        throw new PickleDataException("refusing an extension-registry code (copyreg): it names a global by number, and Gated's pickle reader runs no code.");
                    case Op.NextBuffer:
                    case Op.ReadOnlyBuffer:
                        throw new PickleDataException("out-of-band buffers (pickle protocol 5 buffer_callback) are not supported; write the pickle with the buffers in band.");
                    default:
                        throw new PickleDataException($"byte 0x{op:x2} is not a pickle opcode (not a pickle, corrupt, or a newer protocol than {Op.HighestProtocol}).");
                }
            }
        }

        // ---------------------------------------------------------------------------------------
        // Stack, marks, budget
        // ---------------------------------------------------------------------------------------

        private void Push(object? value)
        {
            if (_stack.Count >= _limits.MaxStackDepth)
                throw new PickleDataException($"the stack grows beyond {_limits.MaxStackDepth} values (PickleLimits.MaxStackDepth).");
            _stack.Add(value);
        }

        private object? Pop()
        {
            if (_stack.Count <= Floor) throw Underflow();
            object? value = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            return value;
        }

        private readonly object? Peek()
        {
            if (_stack.Count <= Floor) throw Underflow();
            return _stack[^1];
        }

        private readonly PickleDataException Underflow() =>
            new(_marks.Count == 0 && _stack.Count == 0
                ? "the stack is empty (stack underflow)."
                : "there is no value above the last MARK (stack underflow).");

        /// <summary>Removes the innermost MARK and returns the stack position it marked.</summary>
        private int PopMark()
        {
            if (_marks.Count == 0)
                throw new PickleDataException("there is no MARK on the stack (MARK expected).");
            int mark = _marks[^1];
            _marks.RemoveAt(_marks.Count - 1);
            return mark;
        }

        /// <summary>The value just below a MARK that was just popped (the list, dict or set APPENDS, SETITEMS and ADDITEMS fill).</summary>
        private readonly object? Below(int mark)
        {
            if (mark <= Floor) throw new PickleDataException("there is no value below the MARK (stack underflow).");
            return _stack[mark - 1];
        }

        private void Charge(long units)
        {
            _budget -= units;
            if (_budget < 0)
                throw new PickleDataException("the pickle builds more objects than its size justifies (work budget of PickleLimits.ElementsPerInputByte per input byte, or PickleLimits.MaxElements, exhausted).");
        }

        // ---------------------------------------------------------------------------------------
        // Containers
        // ---------------------------------------------------------------------------------------

        /// <summary>A tuple of the stack values from <paramref name="start"/> up, which are removed.</summary>
        private PickleTuple MakeTuple(int start)
        {
            int count = _stack.Count - start;
            if (count == 0) return PickleTuple.Empty;
            Charge(1 + count);
            var items = new object?[count];
            _stack.CopyTo(start, items, 0, count);
            _stack.RemoveRange(start, count);
            var tuple = new PickleTuple(items, wrap: true);
            foreach (object? item in items) Nest(tuple, item);
            return tuple;
        }

        private void SetItems(PickleDict dict, int mark)
        {
            int count = _stack.Count - mark;
            if (count % 2 != 0)
                throw new PickleDataException($"needs key/value pairs after the MARK, found an odd number ({count}) of values.");
            for (int i = mark; i < _stack.Count; i += 2) SetItem(dict, _stack[i], _stack[i + 1]);
            _stack.RemoveRange(mark, count);
        }

        private void SetItem(PickleDict dict, object? key, object? value)
        {
            CheckKey(key, "a dict key");
            Nest(dict, key);
            Nest(dict, value);
            dict.Set(key, value);
        }

        private void AddToSet(PickleSet set, object? item)
        {
            CheckKey(item, "a set element");
            Nest(set, item);
            set.Add(item);
        }

        private static PickleSet Freeze(PickleSet set)
        {
            set.Freeze();
            return set;
        }

        /// <summary>
        /// Records that <paramref name="item"/> goes into <paramref name="container"/>: the container's
        /// nesting depth becomes at least one more than the item's, and may not exceed
        /// <see cref="PickleLimits.MaxNesting"/>. (Depths are taken when items are stored, which is
        /// exact for pickles written by Python, whose containers are complete before they are stored.)
        /// </summary>
        private void Nest(object container, object? item)
        {
            int depth = item switch
            {
                List<object?> or PickleTuple or PickleDict or PickleSet => _depths.TryGetValue(item, out int d) ? d : 1,
                _ => 0,
            };
            if (depth == 0) return;
            if (depth + 1 > _limits.MaxNesting)
                throw new PickleDataException($"containers are nested more than {_limits.MaxNesting} deep (PickleLimits.MaxNesting).");
            ref int current = ref CollectionsMarshal.GetValueRefOrAddDefault(_depths, container, out _);
            if (current < depth + 1) current = depth + 1;
        }

        /// <summary>Checks that a value can be hashed and charges for hashing it.</summary>
        private void CheckKey(object? key, string role)
        {
            if (!PickleValues.IsHashable(key))
                throw new PickleDataException($"{PickleText.Describe(key)} cannot be {role}: unhashable type '{PickleValues.TypeName(key)}'.");
            long weight = PickleValues.Weight(key);
            if (weight > _limits.MaxKeyWeight)
                throw new PickleDataException($"{PickleText.Describe(key)} is too large to be {role} (weight {weight} > PickleLimits.MaxKeyWeight {_limits.MaxKeyWeight}).");
            Charge(1 + weight);
        }

        // ---------------------------------------------------------------------------------------
        // Memo
        // ---------------------------------------------------------------------------------------

        private void MemoPut(long index)
        {
            object? value = Peek();
            if (!_memo.Put(index, value, _limits.MaxMemoEntries))
                throw new PickleDataException($"the memo grows beyond {_limits.MaxMemoEntries} entries (PickleLimits.MaxMemoEntries).");
        }

        private void MemoGet(long index)
        {
            if (!_memo.TryGet(index, out object? value))
                throw new PickleDataException($"memo key {index} is not defined (GET before PUT).");
            Push(value);
        }

        // ---------------------------------------------------------------------------------------
        // Globals and the data constructors
        // ---------------------------------------------------------------------------------------

        private static PickleGlobal FindGlobal(string module, string name) =>
            PickleGlobals.Find(module, name) ?? throw new PickleDataException(
                $"refusing to load or call {PickleText.Quote(module + "." + name, 120)}: Gated's pickle reader runs no code. "
                + $"Only these data constructors are recognised (and evaluated as data): {PickleGlobals.AllowedNames}.");

        private object? Call(object? callable, object? arguments, bool newObject)
        {
            if (callable is not PickleGlobal g)
                throw new PickleDataException($"{PickleText.Describe(callable)} is not a callable the reader knows; only allow-listed globals can be called.");
            if (arguments is not PickleTuple args)
                throw new PickleDataException($"the arguments of {PickleText.Quote(g.ToString())} must be a tuple, found {PickleText.Describe(arguments)}.");
            Charge(1);
            string fn = g.Kind is PickleGlobalKind.NumpyScalar ? "" : g.ToString(); // the hot path formats its name only on error
            switch (g.Kind)
            {
                case PickleGlobalKind.NumpyDType:
                    Arity(fn, args, 1, 3);
                    return args[0] switch
                    {
                        string spec => NumpyDType.Parse(spec),
                        NumpyDType d => d.Clone(),
                        _ => throw new PickleDataException($"{fn} needs a type string such as 'i8', found {PickleText.Describe(args[0])}."),
                    };
                case PickleGlobalKind.NumpyScalar:
                {
                    if (newObject || args.Count != 2 || args[0] is not NumpyDType dtype)
                    {
                        fn = g.ToString();
                        Function(fn, newObject);
                        Arity(fn, args, 2, 2);
                        throw new PickleDataException($"{fn} needs a numpy dtype as its first argument, found {PickleText.Describe(args[0])}.");
                    }
                    int length = args[1] switch { byte[] b => b.Length, string str => str.Length, _ => -1 };
                    if (length < 0)
                        throw new PickleDataException($"{g} needs bytes, found {PickleText.Describe(args[1])}.");
                    if (length != dtype.ItemSize)
                        throw new PickleDataException($"{Article(dtype.Name)} {dtype.Name} scalar has {dtype.ItemSize} bytes, the pickle gives {length}.");
                    if (args[1] is byte[] raw) return dtype.Decode(raw);
                    // A Python 2 str, read as Latin-1: each character is one byte.
                    string text = (string)args[1]!;
                    Span<byte> buffer = stackalloc byte[8];
                    for (int i = 0; i < text.Length; i++)
                    {
                        if (text[i] > 0xFF)
                            throw new PickleDataException($"{g} needs bytes; the string has the character U+{(int)text[i]:X4}, which is not a byte.");
                        buffer[i] = (byte)text[i];
                    }
                    return dtype.Decode(buffer[..text.Length]);
                }
                case PickleGlobalKind.CodecsEncode:
                    Function(fn, newObject);
                    Arity(fn, args, 1, 3);
                    return Encode(fn, args);
                case PickleGlobalKind.Set:
                case PickleGlobalKind.FrozenSet:
                {
                    bool frozen = g.Kind == PickleGlobalKind.FrozenSet;
                    Arity(fn, args, 0, 1);
                    var set = new PickleSet();
                    // set.__new__ ignores its arguments (set.__init__ fills the set); frozenset.__new__ uses them.
                    if (args.Count == 1 && (frozen || !newObject))
                    {
                        IEnumerable<object?> items = args[0] switch
                        {
                            List<object?> l => l,
                            PickleTuple t => t,
                            PickleSet s => s,
                            _ => throw new PickleDataException($"{fn} needs a list, tuple or set, found {PickleText.Describe(args[0])}."),
                        };
                        foreach (object? item in items) AddToSet(set, item);
                    }
                    return frozen ? Freeze(set) : set;
                }
                case PickleGlobalKind.ByteArray:
                case PickleGlobalKind.Bytes:
                    if (newObject && g.Kind == PickleGlobalKind.ByteArray) return Array.Empty<byte>(); // bytearray.__new__ makes it empty
                    Arity(fn, args, 0, 3);
                    if (args.Count == 0) return Array.Empty<byte>();
                    if (args.Count == 1 && args[0] is byte[] bytes)
                    {
                        Charge(bytes.Length / 8);
                        return bytes.Clone();
                    }
                    if (args[0] is string) return Encode(fn, args);
                    throw new PickleDataException($"{fn} is only read with bytes or (str, encoding) as its arguments, found {PickleText.Describe(args[0])}"
                        + (args[0] is long or BigInteger ? " (a size would allocate memory the pickle does not contain)." : "."));
                case PickleGlobalKind.NumpyReconstruct:
                    Function(fn, newObject);
                    Arity(fn, args, 3, 3);
                    if (args[0] is not PickleGlobal { Kind: PickleGlobalKind.NumpyNdarray })
                        throw new PickleDataException($"{fn} is only read for numpy.ndarray, found {PickleText.Describe(args[0])}.");
                    return NumpyArray.Placeholder();
                case PickleGlobalKind.NumpyFromBuffer:
                {
                    Function(fn, newObject);
                    Arity(fn, args, 4, 4);
                    byte[] data = args[0] as byte[] ?? throw new PickleDataException($"{fn} needs a bytes buffer, found {PickleText.Describe(args[0])}.");
                    NumpyDType dtype = args[1] as NumpyDType ?? throw new PickleDataException($"{fn} needs a numpy dtype, found {PickleText.Describe(args[1])}.");
                    int[] shape = Shape(args[2]);
                    bool fortran = args[3] switch
                    {
                        "C" => false,
                        "F" => true,
                        _ => throw new PickleDataException($"{fn} needs the order 'C' or 'F', found {PickleText.Describe(args[3])}."),
                    };
                    CheckArraySize(dtype, shape, data.Length);
                    return new NumpyArray(dtype, shape, fortran, data);
                }
                default: // numpy.ndarray itself
                    throw new PickleDataException($"{fn} is only read as the first argument of numpy.core.multiarray._reconstruct.");
            }
        }

        private static void Function(string fn, bool newObject)
        {
            if (newObject) throw new PickleDataException($"{fn} is a function, not a class; NEWOBJ cannot create an instance of it.");
        }

        private static void Arity(string fn, PickleTuple args, int min, int max)
        {
            if (args.Count < min || args.Count > max)
                throw new PickleDataException(min == max
                    ? $"{fn} takes {min} argument(s) here, the pickle gives {args.Count}."
                    : $"{fn} takes {min} to {max} arguments here, the pickle gives {args.Count}.");
        }

        /// <summary>The bytes of a <c>bytes</c> value or of a Python 2 <c>str</c> (read as Latin-1).</summary>
        private byte[] BytesOf(string fn, object? value)
        {
            switch (value)
            {
                case byte[] bytes:
                    return bytes;
                case string s:
                    Charge(s.Length / 8);
                    var result = new byte[s.Length];
                    for (int i = 0; i < s.Length; i++)
                    {
                        if (s[i] > 0xFF)
                            throw new PickleDataException($"{fn} needs bytes; the string has the character U+{(int)s[i]:X4}, which is not a byte.");
                        result[i] = (byte)s[i];
                    }
                    return result;
                default:
                    throw new PickleDataException($"{fn} needs bytes, found {PickleText.Describe(value)}.");
            }
        }

        /// <summary><c>_codecs.encode(str, encoding)</c> (also <c>bytes(str, encoding)</c>, <c>bytearray(str, encoding)</c>).</summary>
        private byte[] Encode(string fn, PickleTuple args)
        {
            if (args[0] is not string s)
                throw new PickleDataException($"{fn} needs a string to encode, found {PickleText.Describe(args[0])}.");
            string encoding = args.Count >= 2
                ? args[1] as string ?? throw new PickleDataException($"{fn} needs an encoding name, found {PickleText.Describe(args[1])}.")
                : "utf-8";
            Charge(s.Length / 8);
            switch (encoding.ToLowerInvariant().Replace('_', '-'))
            {
                case "latin1" or "latin-1" or "iso-8859-1" or "iso8859-1" or "l1":
                    return BytesOf(fn, s);
                case "ascii" or "us-ascii":
                    foreach (char c in s)
                        if (c > 0x7F) throw new PickleDataException($"{fn}: the character U+{(int)c:X4} cannot be encoded as ASCII.");
                    return Encoding.ASCII.GetBytes(s);
                case "utf-8" or "utf8":
                    try
                    {
                        return new UTF8Encoding(false, true).GetBytes(s);
                    }
                    catch (EncoderFallbackException)
                    {
                        throw new PickleDataException($"{fn}: the string holds a lone surrogate, which UTF-8 cannot encode.");
                    }
                default:
                    throw new PickleDataException($"{fn}: the encoding {PickleText.Quote(encoding)} is not supported (latin1, ascii and utf-8 are).");
            }
        }

        private void Build(object? target, object? state)
        {
            switch (target)
            {
                case NumpyDType dtype:
                    dtype.SetState(state);
                    break;
                case NumpyArray array:
                    BuildArray(array, state);
                    break;
                default:
                    throw new PickleDataException($"refusing to set the state of {PickleText.Describe(target)}: BUILD is only read for numpy dtypes and arrays.");
            }
        }

        /// <summary>ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)), version optional.</summary>
        private void BuildArray(NumpyArray array, object? state)
        {
            if (state is not PickleTuple t || t.Count is not (4 or 5))
                throw new PickleDataException($"the state of a numpy array must be a tuple (version, shape, dtype, is_fortran, data), found {PickleText.Describe(state)}.");
            int o = t.Count - 4;
            if (o == 1 && t[0] is not long)
                throw new PickleDataException($"the numpy array state version must be an int, found {PickleText.Describe(t[0])}.");
            int[] shape = Shape(t[o]);
            NumpyDType dtype = t[o + 1] as NumpyDType ?? throw new PickleDataException($"the numpy array state needs a dtype, found {PickleText.Describe(t[o + 1])}.");
            bool fortran = t[o + 2] switch
            {
                bool b => b,
                long l => l != 0,
                _ => throw new PickleDataException($"the numpy array state needs is_fortran as a bool, found {PickleText.Describe(t[o + 2])}."),
            };
            if (t[o + 3] is List<object?>)
                throw new PickleDataException("numpy object arrays are not supported: their elements are arbitrary Python objects.");
            byte[] data = BytesOf("numpy.ndarray.__setstate__", t[o + 3]);
            CheckArraySize(dtype, shape, data.Length);
            array.SetState(dtype, shape, fortran, data);
        }

        private static int[] Shape(object? value)
        {
            if (value is long single) value = new PickleTuple(single);
            if (value is not PickleTuple t)
                throw new PickleDataException($"a numpy shape must be a tuple of ints, found {PickleText.Describe(value)}.");
            if (t.Count > 64)
                throw new PickleDataException($"a numpy array has at most 64 dimensions, the shape has {t.Count}.");
            var shape = new int[t.Count];
            for (int i = 0; i < shape.Length; i++)
            {
                if (t[i] is not long d || d < 0 || d > int.MaxValue)
                    throw new PickleDataException($"dimension {i} of a numpy shape must be an int in 0..{int.MaxValue}, found {PickleText.Describe(t[i])}.");
                shape[i] = (int)d;
            }
            return shape;
        }

        private static void CheckArraySize(NumpyDType dtype, int[] shape, int dataLength)
        {
            long bytes = dtype.ItemSize; // saturates at long.MaxValue
            foreach (int d in shape)
                bytes = d == 0 ? 0 : bytes > long.MaxValue / d ? long.MaxValue : bytes * d;
            if (bytes != dataLength)
            {
                string dims = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
                string need = bytes == long.MaxValue ? "more than 2^63" : bytes.ToString(CultureInfo.InvariantCulture);
                throw new PickleDataException($"{Article(dtype.Name)} {dtype.Name} array of shape {dims} needs {need} bytes, the pickle gives {dataLength}.");
            }
        }

        private static string Article(string word) => word.StartsWith("int", StringComparison.Ordinal) ? "an" : "a"; // an int64, a uint8, a float32, a bool

        // ---------------------------------------------------------------------------------------
        // Input
        // ---------------------------------------------------------------------------------------

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n > Remaining)
                throw new PickleDataException($"needs {n} more byte(s), only {Remaining} remain (truncated?).");
            ReadOnlySpan<byte> span = _data.Slice(_pos, n);
            _pos += n;
            return span;
        }

        private byte ReadByte() => Take(1)[0];

        private ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        /// <summary>A length-prefixed value: the length is checked against the input and the limit before anything is allocated.</summary>
        private ReadOnlySpan<byte> TakeValue(ulong length, string what)
        {
            if (length > (ulong)Remaining)
                throw new PickleDataException($"declares a {what} of {length} bytes, but only {Remaining} remain (truncated?).");
            if (length > (ulong)_limits.MaxStringLength)
                throw new PickleDataException($"declares a {what} of {length} bytes, more than PickleLimits.MaxStringLength ({_limits.MaxStringLength}).");
            return Take((int)length);
        }

        /// <summary>The bytes up to the next newline, which is consumed.</summary>
        private ReadOnlySpan<byte> ReadLine()
        {
            int n = _data[_pos..].IndexOf((byte)'\n');
            if (n < 0)
                throw new PickleDataException("its argument line has no terminating newline (truncated?).");
            if (n > _limits.MaxStringLength)
                throw new PickleDataException($"its argument line is {n} bytes, more than PickleLimits.MaxStringLength ({_limits.MaxStringLength}).");
            ReadOnlySpan<byte> line = _data.Slice(_pos, n);
            _pos += n + 1;
            return line;
        }

        private object ReadBinaryInteger(int n)
        {
            if (n > _limits.MaxIntegerBytes)
                throw new PickleDataException($"an integer of {n} bytes is larger than PickleLimits.MaxIntegerBytes ({_limits.MaxIntegerBytes}).");
            if (n > Remaining)
                throw new PickleDataException($"declares an integer of {n} bytes, but only {Remaining} remain (truncated?).");
            ReadOnlySpan<byte> bytes = _data.Slice(_pos, n);
            _pos += n;
            if (n <= 8)
            {
                long v = 0;
                for (int i = n - 1; i >= 0; i--) v = (v << 8) | bytes[i];
                if (n > 0 && n < 8 && (bytes[n - 1] & 0x80) != 0) v -= 1L << (8 * n); // sign
                return PickleValues.Box(v);
            }
            return PickleValues.Integer(new BigInteger(bytes, isUnsigned: false, isBigEndian: false));
        }

        // ---------------------------------------------------------------------------------------
        // Text arguments
        // ---------------------------------------------------------------------------------------

        /// <summary>An int as Python's <c>int(text, 0)</c> (INT, LONG) reads it: optional sign, decimal or 0x/0o/0b, underscores between digits.</summary>
        private readonly object ParseInteger(ReadOnlySpan<byte> line, bool pythonLiteral)
        {
            ReadOnlySpan<byte> s = line.Trim(" \t\r\f\v"u8);
            bool negative = false;
            if (s.Length > 0 && s[0] is (byte)'+' or (byte)'-')
            {
                negative = s[0] == '-';
                s = s[1..];
            }
            int radix = 10;
            if (pythonLiteral && s.Length > 2 && s[0] == '0' && (s[1] | 0x20) is (byte)'x' or (byte)'o' or (byte)'b')
            {
                radix = (s[1] | 0x20) switch { (byte)'x' => 16, (byte)'o' => 8, _ => 2 };
                s = s[2..];
                if (s.Length > 0 && s[0] == '_') s = s[1..];
            }
            if (s.Length == 0) throw BadNumber(line, "an integer");
            if (s.Length > _limits.MaxIntegerDigits + _limits.MaxIntegerDigits / 2)
                throw new PickleDataException($"an integer with more than {_limits.MaxIntegerDigits} digits is refused (PickleLimits.MaxIntegerDigits).");
            BigInteger value = BigInteger.Zero;
            long small = 0;
            int digits = 0;
            bool leadingZero = s[0] == '0', nonZero = false, big = false;
            for (int i = 0; i < s.Length; i++)
            {
                byte c = s[i];
                if (c == '_' && i > 0 && i < s.Length - 1 && s[i - 1] != '_') continue;
                int d = c is >= (byte)'0' and <= (byte)'9' ? c - '0' : (c | 0x20) is >= (byte)'a' and <= (byte)'f' ? (c | 0x20) - 'a' + 10 : 99;
                if (d >= radix) throw BadNumber(line, "an integer");
                nonZero |= d != 0;
                if (++digits > _limits.MaxIntegerDigits)
                    throw new PickleDataException($"an integer with more than {_limits.MaxIntegerDigits} digits is refused (PickleLimits.MaxIntegerDigits).");
                if (!big && small <= (long.MaxValue - d) / radix) small = small * radix + d;
                else
                {
                    if (!big) { value = small; big = true; }
                    value = value * radix + d;
                }
            }
            // int('007', 0) is an error in Python, but the all-zero '000' is allowed.
            if (pythonLiteral && radix == 10 && leadingZero && nonZero) throw BadNumber(line, "an integer (decimal literals may not have leading zeros)");
            if (!big) return PickleValues.Box(negative ? -small : small);
            return PickleValues.Integer(negative ? -value : value);
        }

        /// <summary>A memo index as Python's <c>int(text)</c> reads it (PUT, GET).</summary>
        private readonly long ParseMemoIndex(ReadOnlySpan<byte> line)
        {
            object value = ParseInteger(line, pythonLiteral: false);
            return value is long l ? l : throw new PickleDataException($"memo key {PickleText.Repr(value, 40)} is out of range.");
        }

        /// <summary>
        /// INT as CPython's C unpickler reads it first: C <c>strtol(text, 0)</c> — leading whitespace,
        /// a sign, then hexadecimal after <c>0x</c>, octal after a leading <c>0</c>, else decimal — and
        /// accepted only when it reaches the end of the line and fits in 64 bits. Otherwise CPython
        /// falls back to <c>int(text, 0)</c> (<see cref="ParseInteger"/>).
        /// </summary>
        private static bool TryParseCLong(ReadOnlySpan<byte> line, out long value)
        {
            value = 0;
            int i = 0;
            while (i < line.Length && line[i] is (byte)' ' or (byte)'\t' or (byte)'\v' or (byte)'\f' or (byte)'\r') i++;
            bool negative = false;
            if (i < line.Length && line[i] is (byte)'+' or (byte)'-') negative = line[i++] == '-';
            int radix = 10;
            if (i < line.Length && line[i] == '0')
            {
                if (i + 2 < line.Length && (line[i + 1] | 0x20) == 'x' && HexValue(line[i + 2]) >= 0)
                {
                    radix = 16;
                    i += 2;
                }
                else
                {
                    radix = 8;
                }
            }
            int first = i;
            ulong magnitude = 0, limit = negative ? 1UL << 63 : long.MaxValue;
            for (; i < line.Length; i++)
            {
                int d = HexValue(line[i]);
                if (d < 0 || d >= radix) break;
                if (magnitude > (limit - (ulong)d) / (ulong)radix) return false; // ERANGE
                magnitude = magnitude * (ulong)radix + (ulong)d;
            }
            if (i == first || (i < line.Length && line[i] != 0)) return false; // no digits, or not at the end of the line
            value = negative ? (long)(0 - magnitude) : (long)magnitude;
            return true;
        }

        /// <summary>FLOAT as CPython reads it (<c>PyOS_string_to_double</c>): no whitespace or underscores, <c>inf</c>/<c>nan</c> words, overflow an error.</summary>
        private static object ParseFloat(ReadOnlySpan<byte> line)
        {
            int nul = line.IndexOf((byte)0);
            ReadOnlySpan<byte> s = nul >= 0 ? line[..nul] : line;
            if (s.Length == 0 || s.Length > 1000) throw BadNumber(line, "a float");
            Span<char> t = stackalloc char[s.Length];
            for (int k = 0; k < s.Length; k++) t[k] = char.ToLowerInvariant((char)s[k]);
            bool negative = t[0] == '-';
            ReadOnlySpan<char> body = t[0] is '+' or '-' ? t[1..] : t;
            if (body is "inf" or "infinity") return negative ? double.NegativeInfinity : double.PositiveInfinity;
            if (body is "nan") return double.NaN;
            // digits [. digits] | . digits, then an optional exponent e[sign]digits
            int i = 0, mantissaDigits = 0;
            while (i < body.Length && char.IsAsciiDigit(body[i])) { i++; mantissaDigits++; }
            if (i < body.Length && body[i] == '.')
            {
                i++;
                while (i < body.Length && char.IsAsciiDigit(body[i])) { i++; mantissaDigits++; }
            }
            if (mantissaDigits == 0) throw BadNumber(line, "a float");
            if (i < body.Length && body[i] == 'e')
            {
                i++;
                if (i < body.Length && body[i] is '+' or '-') i++;
                int exponentDigits = 0;
                while (i < body.Length && char.IsAsciiDigit(body[i])) { i++; exponentDigits++; }
                if (exponentDigits == 0) throw BadNumber(line, "a float");
            }
            if (i != body.Length || !double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                throw BadNumber(line, "a float");
            if (double.IsInfinity(value))
                throw new PickleDataException($"{PickleText.Quote(Encoding.Latin1.GetString(line[..Math.Min(line.Length, 80)]))} is too large for a float.");
            return value;
        }

        private static PickleDataException BadNumber(ReadOnlySpan<byte> line, string what) =>
            new($"{PickleText.Quote(Encoding.Latin1.GetString(line[..Math.Min(line.Length, 80)]))} is not {what}.");

        /// <summary>The inside of a quoted STRING argument: <c>'...'</c> or <c>"..."</c>.</summary>
        private static ReadOnlySpan<byte> Unquote(ReadOnlySpan<byte> line)
        {
            if (line.Length >= 2 && line[0] == line[^1] && line[0] is (byte)'\'' or (byte)'"')
                return line[1..^1];
            throw new PickleDataException("the STRING argument must be quoted.");
        }

        /// <summary>Python's <c>codecs.escape_decode</c>: backslash escapes of a bytes literal.</summary>
        private static byte[] EscapeDecode(ReadOnlySpan<byte> s)
        {
            if (s.IndexOf((byte)'\\') < 0) return s.ToArray();
            var result = new List<byte>(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                byte c = s[i];
                if (c != '\\')
                {
                    result.Add(c);
                    continue;
                }
                if (++i >= s.Length) throw new PickleDataException("the STRING argument ends with a lone backslash.");
                c = s[i];
                switch (c)
                {
                    case (byte)'\n': break; // line continuation
                    case (byte)'\\' or (byte)'\'' or (byte)'"': result.Add(c); break;
                    case (byte)'a': result.Add(7); break;
                    case (byte)'b': result.Add(8); break;
                    case (byte)'t': result.Add(9); break;
                    case (byte)'n': result.Add(10); break;
                    case (byte)'v': result.Add(11); break;
                    case (byte)'f': result.Add(12); break;
                    case (byte)'r': result.Add(13); break;
                    case >= (byte)'0' and <= (byte)'7':
                    {
                        int v = c - '0';
                        for (int k = 0; k < 2 && i + 1 < s.Length && s[i + 1] is >= (byte)'0' and <= (byte)'7'; k++) v = v * 8 + (s[++i] - '0');
                        result.Add((byte)v);
                        break;
                    }
                    case (byte)'x':
                    {
                        int hi = i + 1 < s.Length ? HexValue(s[i + 1]) : -1, lo = i + 2 < s.Length ? HexValue(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0) throw new PickleDataException("the STRING argument has an invalid \\x escape.");
                        result.Add((byte)(hi * 16 + lo));
                        i += 2;
                        break;
                    }
                    default:
                        result.Add((byte)'\\');
                        result.Add(c);
                        break;
                }
            }
            return result.ToArray();
        }

        private static int HexValue(byte c) => c switch
        {
            >= (byte)'0' and <= (byte)'9' => c - '0',
            >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
            >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
            _ => -1,
        };

        private static string Latin1(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

        /// <summary>Python's <c>raw_unicode_escape</c> decoding (UNICODE): Latin-1 with <c>\uXXXX</c> and <c>\UXXXXXXXX</c> escapes.</summary>
        private static string RawUnicodeEscapeDecode(ReadOnlySpan<byte> s)
        {
            if (s.IndexOf((byte)'\\') < 0) return Latin1(s);
            var sb = new StringBuilder(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                byte c = s[i];
                if (c != '\\' || i + 1 >= s.Length || s[i + 1] is not ((byte)'u' or (byte)'U'))
                {
                    sb.Append((char)c);
                    if (c == '\\' && i + 1 < s.Length)
                    {
                        sb.Append((char)s[++i]); // a backslash and the character after it stay as they are
                    }
                    continue;
                }
                int count = s[i + 1] == 'u' ? 4 : 8;
                i += 2;
                int code = 0;
                for (int k = 0; k < count; k++, i++)
                {
                    int h = i < s.Length ? HexValue(s[i]) : -1;
                    if (h < 0) throw new PickleDataException($"the UNICODE argument has a truncated \\{(count == 4 ? "uXXXX" : "UXXXXXXXX")} escape.");
                    code = code * 16 + h;
                    if (code > 0x10FFFF) throw new PickleDataException("the UNICODE argument has a \\U escape beyond U+10FFFF.");
                }
                i--;
                AppendCodePoint(sb, code);
            }
            return sb.ToString();
        }

        private static void AppendCodePoint(StringBuilder sb, int code)
        {
            if (code < 0x10000) sb.Append((char)code); // includes lone surrogates, which Python strings may hold
            else
            {
                code -= 0x10000;
                sb.Append((char)(0xD800 + (code >> 10))).Append((char)(0xDC00 + (code & 0x3FF)));
            }
        }

        /// <summary>UTF-8 as Python's <c>'utf-8', 'surrogatepass'</c> decodes it (lone surrogates encoded as three bytes are kept).</summary>
        private static string DecodeUtf8(ReadOnlySpan<byte> bytes)
        {
            if (Utf8.IsValid(bytes)) return Encoding.UTF8.GetString(bytes);
            var sb = new StringBuilder(bytes.Length);
            int i = 0;
            while (i < bytes.Length)
            {
                byte b = bytes[i];
                int code, need, min;
                if (b < 0x80) { sb.Append((char)b); i++; continue; }
                if (b is >= 0xC2 and <= 0xDF) { code = b & 0x1F; need = 1; min = 0x80; }
                else if (b is >= 0xE0 and <= 0xEF) { code = b & 0x0F; need = 2; min = 0x800; }
                else if (b is >= 0xF0 and <= 0xF4) { code = b & 0x07; need = 3; min = 0x10000; }
                else throw new PickleDataException($"the string is not valid UTF-8 (byte 0x{b:x2} at position {i}).");
                if (i + need >= bytes.Length)
                    throw new PickleDataException($"the string is not valid UTF-8 (truncated sequence at position {i}).");
                for (int k = 1; k <= need; k++)
                {
                    byte cont = bytes[i + k];
                    if ((cont & 0xC0) != 0x80) throw new PickleDataException($"the string is not valid UTF-8 (bad continuation byte at position {i + k}).");
                    code = (code << 6) | (cont & 0x3F);
                }
                if (code < min || code > 0x10FFFF) throw new PickleDataException($"the string is not valid UTF-8 (overlong or out-of-range sequence at position {i}).");
                AppendCodePoint(sb, code);
                i += need + 1;
            }
            return sb.ToString();
        }

        /// <summary>A module or class name of GLOBAL or INST (UTF-8).</summary>
        private static string DecodeName(ReadOnlySpan<byte> line)
        {
            if (!Utf8.IsValid(line)) throw new PickleDataException("the global's name is not valid UTF-8.");
            return Encoding.UTF8.GetString(line);
        }
    }

    /// <summary>
    /// The memo: Python's dict from int keys to values, stored densely while the keys are small and
    /// compact (as picklers write them) and in a dictionary otherwise, so memory stays proportional
    /// to the number of entries whatever keys a pickle uses.
    /// </summary>
    private sealed class Memo
    {
        private static readonly object Absent = new();
        private object?[] _dense = [];
        private Dictionary<long, object?>? _sparse;

        public int Count { get; private set; }

        /// <summary>Stores a value; false when that would add an entry beyond <paramref name="maxEntries"/>.</summary>
        public bool Put(long index, object? value, int maxEntries)
        {
            if (index < _dense.Length)
            {
                if (ReferenceEquals(_dense[index], Absent))
                {
                    if (Count >= maxEntries) return false;
                    Count++;
                }
                _dense[index] = value;
                return true;
            }
            if (_sparse is not null && _sparse.ContainsKey(index))
            {
                _sparse[index] = value;
                return true;
            }
            if (Count >= maxEntries) return false;
            if (index <= 2L * Count + 1024)
            {
                Grow(index);
                _dense[index] = value;
            }
            else
            {
                (_sparse ??= [])[index] = value;
            }
            Count++;
            return true;
        }

        public bool TryGet(long index, out object? value)
        {
            if (index >= 0 && index < _dense.Length)
            {
                value = _dense[index];
                if (!ReferenceEquals(value, Absent)) return true;
                value = null;
                return false;
            }
            if (_sparse is not null && _sparse.TryGetValue(index, out value)) return true;
            value = null;
            return false;
        }

        private void Grow(long index)
        {
            int length = (int)Math.Min(Array.MaxLength, Math.Max(index + 1, Math.Max(16L, 2L * _dense.Length)));
            int old = _dense.Length;
            Array.Resize(ref _dense, length);
            _dense.AsSpan(old).Fill(Absent);
            if (_sparse is null) return;
            foreach (long key in _sparse.Keys.Where(k => k < length).ToList())
            {
                _dense[key] = _sparse[key];
                _sparse.Remove(key);
            }
        }
    }
}
