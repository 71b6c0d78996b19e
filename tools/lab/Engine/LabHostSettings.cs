namespace TunStack.Lab;

/// <summary>Turns a scenario host into the options of its stack.</summary>
internal static class LabHostSettings
{
    /// <summary>
    /// The stack options of <paramref name="host"/>: its addresses, its TCP settings, and a random
    /// seed of its own so that initial sequence numbers and ports repeat from run to run. The
    /// host's "ecn" setting is Linux's tcp_ecn=1 when true (ask on its connections, agree when
    /// asked) and off when false, so that a scenario says which hosts use ECN.
    /// </summary>
    public static StackOptions Create(LabHostSpec host, int seed)
    {
        var options = new StackOptions { RandomSeed = seed };
        if (host.V4 is { } v4)
        {
            options.Addresses.Add(v4);
        }

        if (host.V6 is { } v6)
        {
            options.Addresses.Add(v6);
        }

        TcpSettings tcp = options.Tcp;
        LabCongestion.ApplyTo(tcp, host.Congestion);
        tcp.Ecn = host.Ecn ? TcpEcnMode.RequestAndAccept : TcpEcnMode.Off;
        if (host.SendBufferMax is { } sendMax)
        {
            tcp.SendBufferMax = (int)sendMax;
        }

        if (host.ReceiveBufferMax is { } receiveMax)
        {
            tcp.ReceiveBufferMax = (int)receiveMax;
        }

        if (host.SendBuffer is { } send)
        {
            tcp.SendBufferSize = (int)send;
            tcp.SendBufferMax = Math.Max(tcp.SendBufferMax, (int)send);
        }

        if (host.ReceiveBuffer is { } receive)
        {
            tcp.ReceiveBufferSize = (int)receive;
            tcp.ReceiveBufferMax = Math.Max(tcp.ReceiveBufferMax, (int)receive);
        }

        if (host.AutoTuneBuffers is { } autoTune)
        {
            tcp.AutoTuneBuffers = autoTune;
        }

        if (host.MinRtoMicros is { } minRto)
        {
            tcp.MinRto = TimeSpan.FromMicroseconds(minRto);
        }

        if (host.DelayedAckMicros is { } delayedAck)
        {
            tcp.DelayedAck = TimeSpan.FromMicroseconds(delayedAck);
        }

        return options;
    }
}
