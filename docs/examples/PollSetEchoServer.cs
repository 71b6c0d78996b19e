// An echo server on one PollSet, the event loop epoll(7) describes: the listener and every client
// are nonblocking and registered edge-triggered, each wait hands back only the sockets that have
// something to do, and each of those is served until WouldBlock (edge-triggered readiness reports
// a change once, so whatever is left unread now would not be reported again). A client whose echo
// does not fit in its send buffer stops being read, and is watched for Writable as well (Modify)
// until the rest has gone. A client's state travels as the registration's user token. The loop
// stops after `clients` clients have closed.
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using TunStack.Sockets;

namespace TunStack.Examples;

public static class PollSetEchoServer
{
    /// <summary>A nonblocking listener on <paramref name="port"/>.</summary>
    public static StackSocket Listen(StackHost host, int port)
    {
        StackSocket listener = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.Listen(128);
        listener.Blocking = false;
        return listener;
    }

    public static void Run(StackSocket listener, TextWriter log, int clients)
    {
        using var set = new PollSet();
        set.Add(listener, PollEvents.Readable, PollTrigger.Edge);
        var ready = new ReadySocket[64];
        int finished = 0;
        while (finished < clients)
        {
            int count = set.Wait(ready, Timeout.Infinite);
            for (int i = 0; i < count; i++)
            {
                if (ready[i].Socket == listener)
                {
                    AcceptAll(listener, set);
                }
                else if (ready[i].UserToken is Connection client && !client.Serve())
                {
                    log.WriteLine($"Server: echoed {client.Echoed} bytes to port {client.Port}, closed.");
                    set.Remove(client.Socket); // or just Dispose: the next wait would report it Invalid, once
                    client.Socket.Dispose();
                    finished++;
                }
            }
        }
    }

    // Every connection waiting, until WouldBlock: one edge may stand for several.
    private static void AcceptAll(StackSocket listener, PollSet set)
    {
        while (true)
        {
            StackSocket socket;
            try
            {
                socket = listener.Accept();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                return;
            }

            socket.Blocking = false;
            socket.NoDelay = true;
            set.Add(socket, PollEvents.Readable, PollTrigger.Edge, new Connection(socket, set));
        }
    }

    private sealed class Connection(StackSocket socket, PollSet set)
    {
        private readonly byte[] _pending = new byte[16 * 1024];
        private int _sent;
        private int _received;
        private bool _watchingWritable;

        public StackSocket Socket => socket;

        public int Port { get; } = ((IPEndPoint)socket.RemoteEndPoint!).Port;

        public long Echoed { get; private set; }

        // Reads and echoes until WouldBlock (true) or until the client is gone (false): the end of
        // its stream, with everything echoed, or an error.
        public bool Serve()
        {
            bool failed;
            while (Flush(out failed))
            {
                _received = socket.Receive(_pending, SocketFlags.None, out SocketError error);
                _sent = 0;
                if (error == SocketError.WouldBlock)
                {
                    return true;
                }

                if (error != SocketError.Success || _received == 0)
                {
                    return false;
                }
            }

            return !failed; // the rest waits for room to write (Writable), or the client is gone
        }

        // Sends what was read and not yet sent; true when all of it went. Watches Writable
        // exactly while something is left.
        private bool Flush(out bool failed)
        {
            failed = false;
            while (_sent < _received)
            {
                int n = socket.Send(_pending.AsSpan(_sent, _received - _sent), SocketFlags.None, out SocketError error);
                _sent += n;
                Echoed += n;
                if (error == SocketError.WouldBlock)
                {
                    Watch(writable: true);
                    return false;
                }

                if (error != SocketError.Success)
                {
                    failed = true;
                    return false;
                }
            }

            Watch(writable: false);
            return true;
        }

        private void Watch(bool writable)
        {
            if (writable != _watchingWritable)
            {
                _watchingWritable = writable;
                set.Modify(socket, writable ? PollEvents.Readable | PollEvents.Writable : PollEvents.Readable, PollTrigger.Edge, this);
            }
        }
    }
}
