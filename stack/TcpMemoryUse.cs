namespace TunStack;

/// <summary>
/// The stack's TCP buffer memory now (<see cref="NetworkStack.TcpMemory"/>), like Linux's
/// <c>TCP: mem</c> line in /proc/net/sockstat with tcp_mem's marks.
/// </summary>
/// <param name="InUseBytes">Bytes of chunks holding queued data (send and receive).</param>
/// <param name="FreeBytes">Bytes of free chunks kept for reuse.</param>
/// <param name="PeakBytes">The most bytes ever in use at once.</param>
/// <param name="LimitBytes">The high mark (<see cref="TcpSettings.MemoryLimit"/>).</param>
/// <param name="Pressure">Where use stands against the marks.</param>
public readonly record struct TcpMemoryUse(long InUseBytes, long FreeBytes, long PeakBytes, long LimitBytes, MemoryPressure Pressure);
