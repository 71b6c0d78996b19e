using System.Net.Sockets;
using TunStack.Ip;
using TunStack.Udp;

namespace TunStack.Lab;

/// <summary>
/// A constant-bit-rate UDP source: datagrams of one size, evenly spaced to make the rate (in
/// payload bits), from the start to the stop; the server counts what arrives.
/// </summary>
internal sealed class LabUdpFlow : LabFlow
{
    private readonly UdpEndpoint _sender;
    private readonly UdpEndpoint _receiver;
    private readonly InternetEndpoint _destination;
    private long _sent;

    public LabUdpFlow(LabFlowSpec spec, LabHost client, LabHost server, long runEnd)
        : base(spec, client, server, runEnd)
    {
        AddressFamily family = spec.V6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        _destination = new InternetEndpoint(server.Address(spec.V6), spec.Port);
        _receiver = server.Stack.OpenUdp(family);
        StackError error = _receiver.Bind(_destination);
        if (error != StackError.None)
        {
            throw new InvalidOperationException($"flow {spec.Name}: cannot bind {_destination}: {error}");
        }

        _sender = client.Stack.OpenUdp(family);
    }

    public override long Step(long now)
    {
        while (_receiver.TryReceiveFrom(Sink, out _, out int length, out _))
        {
            Bytes += length;
            Progress += length;
        }

        if (now < Spec.StartMicros)
        {
            return Spec.StartMicros;
        }

        Client.Stack.SetTime(new Instant(now));
        while (true)
        {
            long due = Spec.StartMicros + (long)(_sent * (double)Spec.PacketSize * 8 * 1_000_000 / Spec.RateBitsPerSecond);
            if (due >= StopAt)
            {
                return long.MaxValue;
            }

            if (due > now)
            {
                return due;
            }

            _sender.SendTo(Zeros.AsSpan(0, Spec.PacketSize), _destination);
            _sent++;
            Progress += Spec.PacketSize;
        }
    }
}
