// The stream client of the glibc manual ("Byte Stream Connection Client Example"): connect to
// the server, write one message (with its terminating NUL, as the C program does), close.
//   dotnet run --project docs/examples -- select-server
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TunStack.Sockets;

namespace TunStack.Examples;

public static class StreamClient
{
    public const string Message = "Yow!!! Are we having fun yet?!?";

    public static void Run(StackHost host, IPEndPoint server)
    {
        // sock = socket(PF_INET, SOCK_STREAM, 0)
        using StackSocket sock = host.CreateSocket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        // connect(sock, &servername, sizeof servername): binds an ephemeral port on the way.
        sock.Connect(server);

        // write_to_server: write(filedes, MESSAGE, strlen(MESSAGE) + 1)
        byte[] message = Encoding.ASCII.GetBytes(Message + "\0");
        int nbytes = sock.Send(message);
        if (nbytes < message.Length)
        {
            throw new IOException("write: short write");
        }

        // close(sock): FIN after the data.
    }
}
