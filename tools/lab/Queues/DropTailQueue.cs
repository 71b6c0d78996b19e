namespace TunStack.Lab;

/// <summary>A FIFO that drops arrivals once it holds its limit of packets or of bytes.</summary>
internal sealed class DropTailQueue : QueueDiscipline
{
    private readonly int _limitPackets;
    private readonly long _limitBytes;

    /// <param name="limitPackets">Most packets held.</param>
    /// <param name="limitBytes">Most bytes held; 0 for no byte limit.</param>
    public DropTailQueue(int limitPackets, long limitBytes)
        : base(ecnMarking: false)
    {
        _limitPackets = limitPackets;
        _limitBytes = limitBytes;
    }

    protected override bool Admit(LabPacket packet, long now) =>
        Count < _limitPackets && (_limitBytes == 0 || Bytes + packet.Length <= _limitBytes);
}
