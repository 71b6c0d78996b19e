using TunStack.Ip;
using TunStack.Tcp;

namespace TunStack.Lab;

/// <summary>
/// The part every TCP flow shares: the server listens from the start of the run, the client
/// connects at the flow's start (with the flow's congestion control), the server accepts.
/// </summary>
internal abstract class LabTcpFlow : LabFlow
{
    private readonly TcpAcceptor _acceptor;

    protected LabTcpFlow(LabFlowSpec spec, LabHost client, LabHost server, long runEnd)
        : base(spec, client, server, runEnd)
    {
        var endpoint = new InternetEndpoint(server.Address(spec.V6), spec.Port);
        _acceptor = server.Stack.ListenTcp(endpoint, 16, out StackError error)
            ?? throw new InvalidOperationException($"flow {spec.Name}: cannot listen on {endpoint}: {error}");
        ServerEndpoint = endpoint;
    }

    protected InternetEndpoint ServerEndpoint { get; }

    protected TcpConnection? ClientConnection { get; private set; }

    protected TcpConnection? ServerConnection { get; private set; }

    public override TcpConnection? TracedConnection => ClientConnection;

    public override long Step(long now)
    {
        if (now < Spec.StartMicros || Failure is not null)
        {
            return Failure is null ? Spec.StartMicros : long.MaxValue;
        }

        if (ClientConnection is null)
        {
            Client.Stack.SetTime(new Instant(now));
            ClientConnection = Client.Stack.ConnectTcp(ServerEndpoint, out StackError error, Client.Address(Spec.V6));
            if (ClientConnection is null)
            {
                Failure = $"connect to {ServerEndpoint}: {error}";
                return long.MaxValue;
            }

            LabCongestion.ApplyTo(ClientConnection, Spec.Congestion ?? Client.Spec.Congestion);
            Progress++;
        }

        if (ServerConnection is null && _acceptor.TryAccept(out TcpConnection? accepted))
        {
            ServerConnection = accepted;
        }

        if (ClientConnection.Error != StackError.None)
        {
            Failure = $"client connection: {ClientConnection.Error}";
            return long.MaxValue;
        }

        long wake = long.MaxValue;
        if (ClientConnection.State is not (TcpConnectionState.SynSent or TcpConnectionState.SynReceived))
        {
            wake = StepClient(ClientConnection, now);
        }

        if (ServerConnection is not null)
        {
            StepServer(ServerConnection, now);
        }

        return wake;
    }

    /// <summary>The client's work once connected; returns when it next wants to act on its own.</summary>
    protected abstract long StepClient(TcpConnection connection, long now);

    /// <summary>The server's work on its accepted connection.</summary>
    protected abstract void StepServer(TcpConnection connection, long now);

    /// <summary>Closes <paramref name="connection"/> (a FIN after the data queued).</summary>
    protected void Close(TcpConnection connection)
    {
        connection.Close();
        Progress++;
    }

    /// <summary>Writes up to <paramref name="wanted"/> bytes; returns how many the connection took.</summary>
    protected long Write(TcpConnection connection, long wanted)
    {
        long taken = 0;
        while (taken < wanted)
        {
            int n = connection.Send(Zeros.AsSpan(0, (int)Math.Min(Zeros.Length, wanted - taken)), out _);
            if (n == 0)
            {
                break;
            }

            taken += n;
        }

        Progress += taken;
        return taken;
    }

    /// <summary>Reads everything waiting; returns the bytes read, and whether the peer closed with nothing left.</summary>
    protected long ReadAll(TcpConnection connection, out bool ended)
    {
        long read = 0;
        ended = false;
        while (true)
        {
            int n = connection.Receive(Sink, out StackError error);
            if (n == 0)
            {
                ended = error == StackError.None;
                break;
            }

            read += n;
        }

        Progress += read;
        return read;
    }
}
