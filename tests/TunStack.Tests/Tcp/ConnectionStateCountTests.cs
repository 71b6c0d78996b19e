using TunStack.Ip;
using TunStack.Tcp;
using TunStack.Tests.Integration;

namespace TunStack.Tests.Tcp;

/// <summary>
/// NetworkStack.CountTcpConnections: the stack keeps how many connections of its table are in each
/// state as they change state, and the counts always agree with a walk of the table.
/// </summary>
public class ConnectionStateCountTests
{
    [Fact]
    public void ConnectionsThroughHandshakeCloseAbortAndReset_EveryStep_CountsEqualAWalkOfTheTable()
    {
        var net = new TwoStacks();
        TcpAcceptor listener = net.B.ListenTcp(new InternetEndpoint(InternetAddress.AnyV4, 8080), 64, out _)!;
        var clients = new List<TcpConnection>();
        for (int i = 0; i < 6; i++)
        {
            clients.Add(net.A.ConnectTcp(new InternetEndpoint(TwoStacks.B4, 8080), out _)!);
        }

        Assert.Equal(6, net.A.CountTcpConnections(TcpConnectionState.SynSent));
        AgreeWithTheTable(net);

        Assert.True(net.Simulation.RunUntil(() => listener.PendingCount == 6, TimeSpan.FromSeconds(5)));
        var servers = new List<TcpConnection>();
        while (listener.TryAccept(out TcpConnection? server))
        {
            servers.Add(server!);
        }

        Assert.Equal(6, net.A.CountTcpConnections(TcpConnectionState.Established));
        Assert.Equal(6, net.B.CountTcpConnections(TcpConnectionState.Established));
        AgreeWithTheTable(net);

        clients[0].Close();                 // FIN-WAIT, then TIME-WAIT once B closes too
        clients[1].Close();
        servers[1].Close();
        clients[2].Abort();                 // RST: both ends leave the table
        servers[3].Close();                 // CLOSE-WAIT at A
        net.Simulation.RunFor(TimeSpan.FromMilliseconds(300));
        AgreeWithTheTable(net);
        Assert.Equal(1, net.B.CountTcpConnections(TcpConnectionState.CloseWait));
        Assert.Equal(1, net.A.CountTcpConnections(TcpConnectionState.FinWait2));
        Assert.Equal(1, net.A.CountTcpConnections(TcpConnectionState.CloseWait));
        Assert.Equal(2, net.A.CountTcpConnections(TcpConnectionState.Established));

        net.Simulation.RunFor(TimeSpan.FromSeconds(120));
        AgreeWithTheTable(net);
        Assert.Equal(net.A.TcpConnections.Connections, Enum.GetValues<TcpConnectionState>().Sum(net.A.CountTcpConnections));
        Assert.Equal(0, net.A.CountTcpConnections(TcpConnectionState.TimeWait)); // a record now, not a connection
    }

    private static void AgreeWithTheTable(TwoStacks net)
    {
        foreach (NetworkStack stack in new[] { net.A, net.B })
        {
            IReadOnlyList<TcpConnection> table = stack.ListTcpConnections();
            foreach (TcpConnectionState state in Enum.GetValues<TcpConnectionState>())
            {
                Assert.Equal(table.Count(c => c.State == state), stack.CountTcpConnections(state));
            }
        }
    }
}
