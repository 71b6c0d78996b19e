// The datagram programs of TLPI 56.6 (ud_ucase_sv / ud_ucase_cl), in the Internet domain: the
// server receives each datagram with recvfrom(), upper-cases it and sends it back with sendto()
// to the address recvfrom() reported; the client sends each of its messages with sendto() and
// reads the reply. A second client connect()s its socket first (TLPI 56.6.2, "Using connect()
// with Datagram Sockets") and then uses plain send()/recv().
//   dotnet run --project docs/examples -- uppercase-datagram
using System.Collections.Generic;
using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TunStack.Sockets;

namespace TunStack.Examples;

public static class UppercaseDatagram
{
    private const int BufSize = 10; // as in the book: longer messages are truncated

    /// <summary>ud_ucase_sv: serves <paramref name="count"/> datagrams, then returns.</summary>
    public static void Server(StackSocket sfd, TextWriter log, int count)
    {
        var buf = new byte[BufSize];
        for (int j = 0; j < count; j++)
        {
            EndPoint claddr = new IPEndPoint(IPAddress.Any, 0);
            int numBytes = sfd.ReceiveFrom(buf, ref claddr);
            log.WriteLine($"Server received {numBytes} bytes from {claddr}");
            for (int i = 0; i < numBytes; i++)
            {
                buf[i] = (byte)char.ToUpperInvariant((char)buf[i]);
            }

            sfd.SendTo(buf.AsSpan(0, numBytes), claddr);
        }
    }

    /// <summary>ud_ucase_sv's socket: bound to <paramref name="port"/> on all addresses.</summary>
    public static StackSocket Bind(StackHost host, int port)
    {
        StackSocket sfd = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sfd.Bind(new IPEndPoint(IPAddress.Any, port));
        return sfd;
    }

    /// <summary>ud_ucase_cl: sendto() each message, recvfrom() the response.</summary>
    public static List<string> Client(StackHost host, IPEndPoint server, params string[] messages)
    {
        using StackSocket sfd = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var responses = new List<string>();
        var resp = new byte[BufSize];
        foreach (string message in messages)
        {
            sfd.SendTo(Encoding.ASCII.GetBytes(message), server);
            EndPoint from = new IPEndPoint(IPAddress.Any, 0);
            int numBytes = sfd.ReceiveFrom(resp, ref from);
            responses.Add(Encoding.ASCII.GetString(resp, 0, numBytes));
        }

        return responses;
    }

    /// <summary>The connected variant: connect() once, then send()/recv() without addresses.</summary>
    public static List<string> ConnectedClient(StackHost host, IPEndPoint server, params string[] messages)
    {
        using StackSocket sfd = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sfd.Connect(server);
        var responses = new List<string>();
        var resp = new byte[BufSize];
        foreach (string message in messages)
        {
            sfd.Send(Encoding.ASCII.GetBytes(message));
            int numBytes = sfd.Receive(resp); // only datagrams from the connected peer arrive
            responses.Add(Encoding.ASCII.GetString(resp, 0, numBytes));
        }

        return responses;
    }
}
