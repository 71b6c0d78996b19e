// The select()-based multi-client server of the glibc manual ("Byte Stream Connection Server
// Example"): one listening socket and any number of clients, served in one loop that waits with
// select() for whichever is readable. It prints "Server: got message: `...'" for each message and
// closes a client at end of file. Here the loop stops after `messages` messages (the C one runs for ever).
//   dotnet run --project docs/examples -- select-server
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TunStack.Sockets;

namespace TunStack.Examples;

public static class SelectServer
{
    private const int MaxMsg = 512;

    /// <summary>make_socket(port) + listen(sock, 1).</summary>
    public static StackSocket MakeSocket(StackHost host, int port)
    {
        StackSocket sock = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        sock.Bind(new IPEndPoint(IPAddress.Any, port));
        sock.Listen(1);
        return sock;
    }

    public static void Run(StackSocket sock, TextWriter log, int messages)
    {
        // FD_ZERO(&active_fd_set); FD_SET(sock, &active_fd_set);
        var active = new List<StackSocket> { sock };
        int served = 0;
        while (served < messages)
        {
            // read_fd_set = active_fd_set; select(FD_SETSIZE, &read_fd_set, NULL, NULL, NULL)
            var readSet = new ArrayList(active);
            StackSocket.Select(readSet, null, null, -1);

            foreach (StackSocket i in readSet)
            {
                if (i == sock)
                {
                    // Connection request on original socket.
                    StackSocket fresh = sock.Accept();
                    var client = (IPEndPoint)fresh.RemoteEndPoint!;
                    log.WriteLine($"Server: connect from host {client.Address}, port {client.Port}.");
                    active.Add(fresh);
                }
                else if (ReadFromClient(i, log) < 0)
                {
                    // End of file: close (i); FD_CLR (i, &active_fd_set);
                    i.Dispose();
                    active.Remove(i);
                }
                else
                {
                    served++;
                }
            }
        }

        foreach (StackSocket s in active.Where(s => s != sock))
        {
            s.Dispose();
        }
    }

    private static int ReadFromClient(StackSocket filedes, TextWriter log)
    {
        var buffer = new byte[MaxMsg];
        int nbytes = filedes.Receive(buffer);
        if (nbytes == 0)
        {
            return -1; // End-of-file.
        }

        string text = Encoding.ASCII.GetString(buffer, 0, nbytes).TrimEnd('\0');
        log.WriteLine($"Server: got message: `{text}'");
        return 0;
    }
}
