namespace Gated.IO.Pickle;

/// <summary>The opcodes of pickle protocols 0–5 (as defined by CPython's <c>pickletools</c>).</summary>
internal static class PickleOpcodes
{
    public const byte Mark = (byte)'(';
    public const byte Stop = (byte)'.';
    public const byte Pop = (byte)'0';
    public const byte PopMark = (byte)'1';
    public const byte Dup = (byte)'2';
    public const byte Float = (byte)'F';
    public const byte Int = (byte)'I';
    public const byte BinInt = (byte)'J';
    public const byte BinInt1 = (byte)'K';
    public const byte Long = (byte)'L';
    public const byte BinInt2 = (byte)'M';
    public const byte None = (byte)'N';
    public const byte PersId = (byte)'P';
    public const byte BinPersId = (byte)'Q';
    public const byte Reduce = (byte)'R';
    public const byte String = (byte)'S';
    public const byte BinString = (byte)'T';
    public const byte ShortBinString = (byte)'U';
    public const byte Unicode = (byte)'V';
    public const byte BinUnicode = (byte)'X';
    public const byte Append = (byte)'a';
    public const byte Build = (byte)'b';
    public const byte Global = (byte)'c';
    public const byte Dict = (byte)'d';
    public const byte EmptyDict = (byte)'}';
    public const byte Appends = (byte)'e';
    public const byte Get = (byte)'g';
    public const byte BinGet = (byte)'h';
    public const byte Inst = (byte)'i';
    public const byte LongBinGet = (byte)'j';
    public const byte List = (byte)'l';
    public const byte EmptyList = (byte)']';
    public const byte Obj = (byte)'o';
    public const byte Put = (byte)'p';
    public const byte BinPut = (byte)'q';
    public const byte LongBinPut = (byte)'r';
    public const byte SetItem = (byte)'s';
    public const byte Tuple = (byte)'t';
    public const byte EmptyTuple = (byte)')';
    public const byte SetItems = (byte)'u';
    public const byte BinFloat = (byte)'G';

    // Protocol 2
    public const byte Proto = 0x80;
    public const byte NewObj = 0x81;
    public const byte Ext1 = 0x82;
    public const byte Ext2 = 0x83;
    public const byte Ext4 = 0x84;
    public const byte Tuple1 = 0x85;
    public const byte Tuple2 = 0x86;
    public const byte Tuple3 = 0x87;
    public const byte NewTrue = 0x88;
    public const byte NewFalse = 0x89;
    public const byte Long1 = 0x8a;
    public const byte Long4 = 0x8b;

    // Protocol 3
    public const byte BinBytes = (byte)'B';
    public const byte ShortBinBytes = (byte)'C';

    // Protocol 4
    public const byte ShortBinUnicode = 0x8c;
    public const byte BinUnicode8 = 0x8d;
    public const byte BinBytes8 = 0x8e;
    public const byte EmptySet = 0x8f;
    public const byte AddItems = 0x90;
    public const byte FrozenSet = 0x91;
    public const byte NewObjEx = 0x92;
    public const byte StackGlobal = 0x93;
    public const byte Memoize = 0x94;
    public const byte Frame = 0x95;

    // Protocol 5
    public const byte ByteArray8 = 0x96;
    public const byte NextBuffer = 0x97;
    public const byte ReadOnlyBuffer = 0x98;

    /// <summary>The highest protocol this reader understands.</summary>
    public const int HighestProtocol = 5;

    private static readonly string?[] Names = CreateNames();

    /// <summary>The pickletools name of an opcode and its byte, e.g. <c>REDUCE ('R')</c> or <c>PROTO (0x80)</c>.</summary>
    public static string Describe(byte op)
    {
        string code = op is >= 0x21 and < 0x7f ? $"'{(char)op}'" : $"0x{op:x2}";
        return Names[op] is { } name ? $"{name} ({code})" : $"unknown opcode {code}";
    }

    private static string?[] CreateNames()
    {
        var n = new string?[256];
        n[Mark] = "MARK"; n[Stop] = "STOP"; n[Pop] = "POP"; n[PopMark] = "POP_MARK"; n[Dup] = "DUP";
        n[Float] = "FLOAT"; n[Int] = "INT"; n[BinInt] = "BININT"; n[BinInt1] = "BININT1"; n[Long] = "LONG";
        n[BinInt2] = "BININT2"; n[None] = "NONE"; n[PersId] = "PERSID"; n[BinPersId] = "BINPERSID";
        n[Reduce] = "REDUCE"; n[String] = "STRING"; n[BinString] = "BINSTRING"; n[ShortBinString] = "SHORT_BINSTRING";
        n[Unicode] = "UNICODE"; n[BinUnicode] = "BINUNICODE"; n[Append] = "APPEND"; n[Build] = "BUILD";
        n[Global] = "GLOBAL"; n[Dict] = "DICT"; n[EmptyDict] = "EMPTY_DICT"; n[Appends] = "APPENDS";
        n[Get] = "GET"; n[BinGet] = "BINGET"; n[Inst] = "INST"; n[LongBinGet] = "LONG_BINGET"; n[List] = "LIST";
        n[EmptyList] = "EMPTY_LIST"; n[Obj] = "OBJ"; n[Put] = "PUT"; n[BinPut] = "BINPUT"; n[LongBinPut] = "LONG_BINPUT";
        n[SetItem] = "SETITEM"; n[Tuple] = "TUPLE"; n[EmptyTuple] = "EMPTY_TUPLE"; n[SetItems] = "SETITEMS";
        n[BinFloat] = "BINFLOAT"; n[Proto] = "PROTO"; n[NewObj] = "NEWOBJ"; n[Ext1] = "EXT1"; n[Ext2] = "EXT2";
        n[Ext4] = "EXT4"; n[Tuple1] = "TUPLE1"; n[Tuple2] = "TUPLE2"; n[Tuple3] = "TUPLE3"; n[NewTrue] = "NEWTRUE";
        n[NewFalse] = "NEWFALSE"; n[Long1] = "LONG1"; n[Long4] = "LONG4"; n[BinBytes] = "BINBYTES";
        n[ShortBinBytes] = "SHORT_BINBYTES"; n[ShortBinUnicode] = "SHORT_BINUNICODE"; n[BinUnicode8] = "BINUNICODE8";
        n[BinBytes8] = "BINBYTES8"; n[EmptySet] = "EMPTY_SET"; n[AddItems] = "ADDITEMS"; n[FrozenSet] = "FROZENSET";
        n[NewObjEx] = "NEWOBJ_EX"; n[StackGlobal] = "STACK_GLOBAL"; n[Memoize] = "MEMOIZE"; n[Frame] = "FRAME";
        n[ByteArray8] = "BYTEARRAY8"; n[NextBuffer] = "NEXT_BUFFER"; n[ReadOnlyBuffer] = "READONLY_BUFFER";
        return n;
    }
}
