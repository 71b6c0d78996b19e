// docs/examples/CraftedPacketsIntoAStack.cs: packets built with PacketDotNet, handed to a stack
// through the far end of its link (PacketDotNetPackets), and its answers parsed with PacketDotNet:
// a TCP SYN to a listener gets a SYN-ACK, an ICMPv6 echo request an echo reply.
//   dotnet run --project docs/examples -- packetdotnet
using System;
using System.IO;
using System.Net;
using PacketDotNet;
using PacketDotNet.Utils;
using TunStack;
using TunStack.Ip;
using TunStack.Links;
using TunStack.Storage;

namespace TunStack.Examples;

public static class CraftedPacketsIntoAStack
{
    public static void Run(TextWriter output)
    {
        var sim = new Simulation();
        (MemoryLink wire, MemoryLink stackSide) = MemoryLink.CreatePair();
        var options = new StackOptions();
        options.Addresses.Add(IpPrefix.Parse("10.0.0.2/24"));
        options.Addresses.Add(IpPrefix.Parse("fd00::2/64"));
        NetworkStack stack = sim.Add(new NetworkStack(stackSide, options));
        stack.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 7), backlog: 4, out _);

        // A SYN from 10.0.0.1:40000 to the listener.
        var syn = new IPv4Packet(IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"))
        {
            PayloadPacket = new TcpPacket(40000, 7) { Synchronize = true, SequenceNumber = 1000, WindowSize = 65535 },
        };
        var tcpAnswer = (TcpPacket)Exchange(sim, wire, syn).Extract<TcpPacket>();
        output.WriteLine($"SYN to 10.0.0.2:7 answered: SYN {tcpAnswer.Synchronize}, ACK {tcpAnswer.Acknowledgment}, acknowledging {tcpAnswer.AcknowledgmentNumber}");

        // An ICMPv6 echo request (type 128, identifier 7, sequence 1, 4 bytes of data).
        var echo = new IcmpV6Packet(new ByteArraySegment([128, 0, 0, 0, 0, 7, 0, 1, (byte)'p', (byte)'i', (byte)'n', (byte)'g']));
        var ping = new IPv6Packet(IPAddress.Parse("fd00::1"), IPAddress.Parse("fd00::2")) { PayloadPacket = echo, HopLimit = 64 };
        var icmpAnswer = (IcmpV6Packet)Exchange(sim, wire, ping).Extract<IcmpV6Packet>();
        output.WriteLine($"echo request to fd00::2 answered: ICMPv6 type {(int)icmpAnswer.Type} ({icmpAnswer.Type}), {icmpAnswer.Bytes.Length - 8} bytes of data");
    }

    // Sends one packet to the stack and returns the first it sends back, parsed.
    private static Packet Exchange(Simulation sim, MemoryLink wire, Packet packet)
    {
        var batch = new PacketBatch(1, 1500);
        PacketDotNetPackets.TryAdd(batch, packet);
        wire.Transmit(batch, sim.Clock.Now);
        var answers = new PacketBatch(16, 1500);
        sim.RunUntil(() => answers.Count > 0 || wire.Receive(answers, sim.Clock.Now) > 0, TimeSpan.FromSeconds(1));
        return Packet.ParsePacket(LinkLayers.Raw, answers[0].ToArray());
    }
}
