namespace TunStack.Cli;

/// <summary>
/// A socket's memory as <c>ss -m</c> shows it (skmem): bytes held for received data and the receive
/// buffer's size, bytes held for data to send and the send buffer's size. The stack hands every
/// packet to the link at once and keeps no option or backlog memory, so ss's t, f, o, bl are 0.
/// </summary>
/// <param name="ReceiveHeld">r: TCP memory (4 KiB chunks) or UDP queue bytes holding received data.</param>
/// <param name="ReceiveBuffer">rb: the receive buffer's size.</param>
/// <param name="SendBuffer">tb: the send buffer's size.</param>
/// <param name="SendHeld">w: TCP memory holding data sent and not acknowledged, or not sent yet.</param>
/// <param name="Drops">d: datagrams or segments dropped for want of room (0 where the stack does not count them per socket).</param>
public readonly record struct SocketMemory(long ReceiveHeld, long ReceiveBuffer, long SendBuffer, long SendHeld, long Drops)
{
    /// <summary>"skmem:(r0,rb131072,t0,tb16384,f0,w0,o0,bl0,d0)".</summary>
    public override string ToString()
        => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"skmem:(r{ReceiveHeld},rb{ReceiveBuffer},t0,tb{SendBuffer},f0,w{SendHeld},o0,bl0,d{Drops})");
}
