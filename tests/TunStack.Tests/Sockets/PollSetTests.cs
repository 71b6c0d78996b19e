// PollSet against epoll(7): level- and edge-triggered and one-shot reports, EPOLL_CTL_ADD/MOD/DEL,
// closing a registered socket, several sets on one socket, timeouts and async waits; and the
// per-socket watchers under poll(2). The sockets talk through the stack's own address.
using System.Diagnostics;
using System.Net.Sockets;
using TunStack.Sockets;
using TunStack.Sockets.Hosting;

namespace TunStack.Tests.Sockets;

public class PollSetTests
{
    private readonly ReadySocket[] _ready = new ReadySocket[16];

    private static void Datagram(StackSocket from, int port, string text = "x")
        => from.SendTo(System.Text.Encoding.ASCII.GetBytes(text), SocketHost.At(port));

    private static void WaitUntilReadable(StackSocket socket)
        => Assert.True(SpinWait.SpinUntil(() => (socket.Readiness & PollEvents.Readable) != 0, 5000));

    // Reads datagrams until WouldBlock; returns how many.
    private static int Drain(StackSocket socket)
    {
        var buffer = new byte[2048];
        int count = 0;
        while (true)
        {
            socket.Receive(buffer, StackSocketFlags.DontWait, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return count;
            }

            Assert.Equal(SocketError.Success, error);
            count++;
        }
    }

    [Fact]
    public void LevelTriggered_DataUnread_ReportedByEveryWaitUntilRead()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7300);
        StackSocket sender = h.Udp();
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, userToken: "s");
        Assert.Equal(0, set.Wait(_ready, 0));

        Datagram(sender, 7300);
        Assert.Equal(1, set.Wait(_ready, 5000));
        Assert.Equal((s, PollEvents.Readable, (object?)"s"), (_ready[0].Socket, _ready[0].Events, _ready[0].UserToken));
        Assert.Equal(1, set.Wait(_ready, 0)); // still unread: reported again
        Assert.Equal(1, set.Wait(_ready, 0));

        Assert.Equal(1, Drain(s));
        Assert.Equal(0, set.Wait(_ready, 0));
    }

    [Fact]
    public void EdgeTriggered_DataUnread_ReportedOnceUntilMoreArrives()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7301);
        StackSocket sender = h.Udp();
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, PollTrigger.Edge);

        Datagram(sender, 7301);
        Assert.Equal(1, set.Wait(_ready, 5000));
        Assert.Equal(PollEvents.Readable, _ready[0].Events);
        Assert.Equal(0, set.Wait(_ready, 0)); // unread, but nothing new: not again
        Assert.Equal(0, set.Wait(_ready, 50));

        Datagram(sender, 7301); // a new arrival is a new edge, drained or not (as Linux)
        Assert.Equal(1, set.Wait(_ready, 5000));
        Assert.Equal(2, Drain(s));
        Assert.Equal(0, set.Wait(_ready, 0));

        Datagram(sender, 7301); // drained to WouldBlock: the next arrival is reported
        Assert.Equal(1, set.Wait(_ready, 5000));
        Assert.Equal(s, _ready[0].Socket);
    }

    [Fact]
    public void EdgeTriggered_AlreadyReadyWhenAdded_ReportedOnce()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7302);
        Datagram(h.Udp(), 7302);
        WaitUntilReadable(s);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, PollTrigger.Edge);
        Assert.Equal(1, set.Wait(_ready, 0)); // ep_insert looks at the socket once
        Assert.Equal(0, set.Wait(_ready, 0));
    }

    [Fact]
    public void EdgeTriggered_StreamWriter_WritableAgainOnlyAfterFillingTheBuffer()
    {
        using var h = new SocketHost();
        (StackSocket client, StackSocket server) = h.Pair(7303);
        client.Blocking = false;
        client.NoDelay = true;
        using var set = new PollSet();
        set.Add(client, PollEvents.Writable, PollTrigger.Edge);
        Assert.Equal(1, set.Wait(_ready, 0)); // writable when added
        Assert.Equal(0, set.Wait(_ready, 0));

        // A small write that fits, acknowledged: no new edge (nobody found the buffer full).
        client.Send(new byte[100]);
        Assert.True(SpinWait.SpinUntil(() => client.GetTcpInfo()!.Value.BytesAcked == 100, 5000));
        Assert.Equal(0, set.Wait(_ready, 50));

        // Fill the send buffer to WouldBlock; the reader drains; the ACKs are the edge.
        long sent = 100 + FillSendBuffer(client);
        Receive(server, sent);
        Assert.Equal(1, set.Wait(_ready, 5000));
        Assert.Equal(PollEvents.Writable, _ready[0].Events);
    }

    // Nonblocking sends until WouldBlock; returns the bytes sent.
    private static long FillSendBuffer(StackSocket socket)
    {
        var chunk = new byte[64 * 1024];
        long sent = 0;
        while (true)
        {
            sent += socket.Send(chunk, SocketFlags.None, out SocketError error);
            if (error == SocketError.WouldBlock)
            {
                return sent;
            }

            Assert.Equal(SocketError.Success, error);
        }
    }

    private static void Receive(StackSocket socket, long count)
    {
        var sink = new byte[64 * 1024];
        for (long received = 0; received < count;)
        {
            received += socket.Receive(sink);
        }
    }

    [Fact]
    public void OneShot_Reported_SilentUntilModifyRearmsIt()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7304);
        StackSocket sender = h.Udp();
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, PollTrigger.OneShot);
        Datagram(sender, 7304);
        Assert.Equal(1, set.Wait(_ready, 5000));
        Assert.Equal(0, set.Wait(_ready, 0)); // level-triggered, still readable, but disarmed
        Datagram(sender, 7304);
        Assert.Equal(0, set.Wait(_ready, 50));
        Assert.Equal(1, set.Count);

        set.Modify(s, PollEvents.Readable, PollTrigger.OneShot);
        Assert.Equal(1, set.Wait(_ready, 0));
        Assert.Equal(0, set.Wait(_ready, 0));
    }

    [Fact]
    public void EdgeOneShot_Reported_ModifyRearmsAndReportsWhatHoldsNow()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7305);
        StackSocket sender = h.Udp();
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, PollTrigger.Edge | PollTrigger.OneShot);
        Datagram(sender, 7305);
        Assert.Equal(1, set.Wait(_ready, 5000));
        Datagram(sender, 7305);
        Assert.Equal(0, set.Wait(_ready, 50));
        set.Modify(s, PollEvents.Readable, PollTrigger.Edge | PollTrigger.OneShot);
        Assert.Equal(1, set.Wait(_ready, 0)); // ep_modify: ready now, so reported
        Assert.Equal(0, set.Wait(_ready, 0));
    }

    [Fact]
    public void Modify_ReadableToWritable_ReportsTheNewConditionAndToken()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7306);
        Datagram(h.Udp(), 7306);
        WaitUntilReadable(s);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, userToken: "first");
        Assert.Equal(1, set.Wait(_ready, 0));
        Assert.Equal((PollEvents.Readable, (object?)"first"), (_ready[0].Events, _ready[0].UserToken));

        set.Modify(s, PollEvents.Writable, userToken: "second");
        Assert.Equal(1, set.Wait(_ready, 0));
        Assert.Equal((PollEvents.Writable, (object?)"second"), (_ready[0].Events, _ready[0].UserToken));

        set.Modify(s, PollEvents.None); // only Error and HangUp: a healthy socket is not reported
        Assert.Equal(0, set.Wait(_ready, 0));
    }

    [Fact]
    public void AddModifyRemove_WrongState_EexistEnoentEbadf()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7307);
        StackSocket other = h.Udp();
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable);
        Assert.Throws<InvalidOperationException>(() => set.Add(s, PollEvents.Writable));       // EEXIST
        Assert.Throws<InvalidOperationException>(() => set.Modify(other, PollEvents.Readable)); // ENOENT
        Assert.False(set.Remove(other));                                                        // ENOENT
        Assert.Throws<ArgumentOutOfRangeException>(() => set.Add(other, PollEvents.Readable, (PollTrigger)4));
        Assert.Throws<ArgumentException>(() => set.Wait(Span<ReadySocket>.Empty, 0));

        other.Dispose();
        Assert.Throws<ObjectDisposedException>(() => set.Add(other, PollEvents.Readable));      // EBADF
        Assert.True(set.Remove(s));
        Assert.False(set.Remove(s));
        Assert.Equal(0, set.Count);
        set.Dispose();
        Assert.Throws<ObjectDisposedException>(() => set.Add(s, PollEvents.Readable));
        Assert.Throws<ObjectDisposedException>(() => set.Wait(_ready, 0));
        Assert.False(set.Remove(s));
    }

    [Fact]
    public async Task Remove_DuringBlockedWait_WaitNeverReportsIt()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket removed = h.BoundUdp(7308);
        StackSocket kept = h.BoundUdp(7309);
        StackSocket sender = h.Udp();
        using var set = new PollSet();
        set.Add(removed, PollEvents.Readable);
        set.Add(kept, PollEvents.Readable);
        var ready = new ReadySocket[4];
        Task<int> waiting = Task.Run(() => set.Wait(ready, 10_000));
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        Assert.True(set.Remove(removed));
        Datagram(sender, 7308);
        WaitUntilReadable(removed);
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);
        Datagram(sender, 7309);
        Assert.Equal(1, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(kept, ready[0].Socket);
        Assert.Equal(0, removed.WatcherCount);
    }

    [Fact]
    public void Remove_ReadySocketBeforeWait_NotReported()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7310);
        Datagram(h.Udp(), 7310);
        WaitUntilReadable(s);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable); // on the ready list now
        Assert.True(set.Remove(s));
        Assert.Equal(0, set.Wait(_ready, 0));
    }

    [Fact]
    public async Task Close_DuringBlockedWait_WakesItWithInvalidOnceThenGone()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket s = h.BoundUdp(7311);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, PollTrigger.Edge, userToken: 42);
        var ready = new ReadySocket[4];
        Task<int> waiting = Task.Run(() => set.Wait(ready, 10_000));
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        s.Dispose();
        Assert.Equal(1, await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((s, PollEvents.Invalid, (object?)42), (ready[0].Socket, ready[0].Events, ready[0].UserToken));
        Assert.Equal(0, set.Count);
        Assert.Equal(0, set.Wait(ready, 0));
        Assert.False(set.Remove(s));
        Assert.Equal(0, s.WatcherCount);
    }

    [Fact]
    public void Close_AfterRemove_NothingReported()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7312);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable);
        set.Remove(s);
        s.Dispose();
        Assert.Equal(0, set.Wait(_ready, 0));
    }

    [Fact]
    public void Close_OneShotAlreadyReported_StillReportedInvalid()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7313);
        Datagram(h.Udp(), 7313);
        WaitUntilReadable(s);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, PollTrigger.OneShot);
        Assert.Equal(1, set.Wait(_ready, 0));
        s.Dispose();
        Assert.Equal(1, set.Wait(_ready, 0));
        Assert.Equal(PollEvents.Invalid, _ready[0].Events);
        Assert.Equal(0, set.Count);
    }

    [Fact]
    public void ManySets_OneSocket_EachReportsItAndEachHearsTheClose()
    {
        using var h = new SocketHost();
        StackSocket s = h.BoundUdp(7314);
        using var level = new PollSet();
        using var edge = new PollSet();
        using var oneShot = new PollSet();
        level.Add(s, PollEvents.Readable);
        edge.Add(s, PollEvents.Readable, PollTrigger.Edge);
        oneShot.Add(s, PollEvents.Readable, PollTrigger.OneShot);
        Assert.Equal(3, s.WatcherCount);

        Datagram(h.Udp(), 7314);
        foreach (PollSet set in new[] { level, edge, oneShot })
        {
            Assert.Equal(1, set.Wait(_ready, 5000));
            Assert.Equal(s, _ready[0].Socket);
        }

        Assert.Equal(1, level.Wait(_ready, 0));
        Assert.Equal(0, edge.Wait(_ready, 0));
        Assert.Equal(0, oneShot.Wait(_ready, 0));

        edge.Dispose(); // closing one set leaves the others watching
        Assert.Equal(2, s.WatcherCount);
        s.Dispose();
        foreach (PollSet set in new[] { level, oneShot })
        {
            Assert.Equal(1, set.Wait(_ready, 0));
            Assert.Equal(PollEvents.Invalid, _ready[0].Events);
        }

        Assert.Equal(0, s.WatcherCount);
    }

    [Fact]
    public void Wait_NothingReady_ZeroReturnsAtOnce_TimeoutReturnsZeroAfterItsTime()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket s = h.BoundUdp(7315);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable);
        Assert.Equal(0, set.Wait(_ready, 0));
        var clock = Stopwatch.StartNew();
        Assert.Equal(0, set.Wait(_ready, 100));
        Assert.True(clock.ElapsedMilliseconds >= 95, $"returned after {clock.ElapsedMilliseconds} ms");
        using var empty = new PollSet();
        Assert.Equal(0, empty.Wait(_ready, 20));
    }

    [Fact]
    public void Wait_MoreReadyThanRoom_RestComeNextInTurn()
    {
        using var h = new SocketHost();
        StackSocket sender = h.Udp();
        var sockets = Enumerable.Range(0, 5).Select(i => h.BoundUdp(7320 + i)).ToArray();
        using var set = new PollSet();
        foreach (StackSocket s in sockets)
        {
            set.Add(s, PollEvents.Readable);
            Datagram(sender, ((System.Net.IPEndPoint)s.LocalEndPoint!).Port);
            WaitUntilReadable(s);
        }

        var two = new ReadySocket[2];
        var seen = new List<StackSocket>();
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(2, set.Wait(two, 0));
            seen.AddRange(two.Select(r => r.Socket));
        }

        // Level-triggered sockets still ready go to the back: every one gets its turn, twice.
        Assert.All(sockets, s => Assert.Equal(2, seen.Count(x => x == s)));
    }

    [Fact]
    public void Registered_PeerShutsAndResets_ReadHangUpThenErrorAndHangUpReported()
    {
        using var h = new SocketHost();
        (StackSocket a, StackSocket b) = h.Pair(7330);
        using var set = new PollSet();
        set.Add(a, PollEvents.ReadHangUp); // not Readable, not Error, not HangUp
        b.Shutdown(SocketShutdown.Send);
        Assert.Equal(1, set.Wait(_ready, 5000));
        Assert.Equal(PollEvents.ReadHangUp, _ready[0].Events); // EPOLLRDHUP

        b.LingerState = new LingerOption(true, 0);
        b.Dispose(); // RST
        Assert.True(SpinWait.SpinUntil(() => set.Wait(_ready, 100) == 1 && (_ready[0].Events & PollEvents.Error) != 0, 5000));
        Assert.Equal(PollEvents.ReadHangUp | PollEvents.Error | PollEvents.HangUp, _ready[0].Events);
    }

    [Fact]
    public void EdgeTriggered_Listener_EachConnectionIsAnEdge()
    {
        using var h = new SocketHost();
        StackSocket listener = h.Listen(7331);
        listener.Blocking = false;
        using var set = new PollSet();
        set.Add(listener, PollEvents.Readable, PollTrigger.Edge);
        StackSocket first = h.Tcp();
        first.Connect(SocketHost.At(7331));
        Assert.Equal(1, set.Wait(_ready, 5000));
        Assert.Equal(0, set.Wait(_ready, 0)); // not accepted, nothing new
        StackSocket second = h.Tcp();
        second.Connect(SocketHost.At(7331));
        Assert.Equal(1, set.Wait(_ready, 5000));
        using StackSocket one = listener.Accept();
        using StackSocket two = listener.Accept();
        Assert.Throws<SocketException>(() => listener.Accept()); // drained to EAGAIN
        Assert.Equal(0, set.Wait(_ready, 0));
    }

    [Fact]
    public async Task WaitAsync_DataArrives_CompletesWithTheSocket()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket s = h.BoundUdp(7332);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, PollTrigger.Edge, userToken: "token");
        var ready = new ReadySocket[4];
        ValueTask<int> waiting = set.WaitAsync(ready);
        Assert.False(waiting.IsCompleted);
        Datagram(h.Udp(), 7332);
        Assert.Equal(1, await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((s, PollEvents.Readable, (object?)"token"), (ready[0].Socket, ready[0].Events, ready[0].UserToken));

        set.Modify(s, PollEvents.Readable); // level-triggered and readable: completes synchronously
        ValueTask<int> now = set.WaitAsync(ready);
        Assert.True(now.IsCompletedSuccessfully);
        Assert.Equal(1, await now);
    }

    [Fact]
    public async Task WaitAsync_Cancelled_ThrowsOperationCanceledAndTheSetWaitsAgain()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket s = h.BoundUdp(7333);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable);
        var ready = new ReadySocket[4];
        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await set.WaitAsync(ready, cancel.Token));
        }

        using (var cancelled = new CancellationTokenSource())
        {
            cancelled.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await set.WaitAsync(ready, cancelled.Token));
        }

        ValueTask<int> again = set.WaitAsync(ready);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await set.WaitAsync(ready)); // one WaitAsync at a time
        Datagram(h.Udp(), 7333);
        Assert.Equal(1, await again.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Dispose_DuringWaits_BlockedAndAsyncWaitsThrowObjectDisposed()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket s = h.BoundUdp(7334);
        var set = new PollSet();
        set.Add(s, PollEvents.Readable);
        var ready = new ReadySocket[4];
        Task<int> blocked = Task.Run(() => set.Wait(new ReadySocket[4], 10_000));
        ValueTask<int> awaiting = set.WaitAsync(ready);
        await Task.Delay(50);
        set.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => blocked.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => awaiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, s.WatcherCount); // the socket is no longer watched, and stays open
        Assert.Equal(PollEvents.Writable, s.Readiness);
    }

    [Fact]
    public void SocketsOfTwoHosts_OneSet_ReportsBoth()
    {
        using var h1 = new SocketHost();
        using var h2 = new SocketHost();
        StackSocket one = h1.BoundUdp(7335);
        StackSocket two = h2.BoundUdp(7335);
        using var set = new PollSet();
        set.Add(one, PollEvents.Readable);
        set.Add(two, PollEvents.Readable);
        Datagram(h1.Udp(), 7335);
        Datagram(h2.Udp(), 7335);
        WaitUntilReadable(one);
        WaitUntilReadable(two);
        Assert.Equal(2, set.Wait(_ready, 0));
        Assert.Contains(_ready.Take(2), r => r.Socket == one);
        Assert.Contains(_ready.Take(2), r => r.Socket == two);
    }

    // 10,000 registered, rounds of random arrivals and reads, against a model of which sockets
    // hold unread datagrams: every wait returns exactly the model's ready sockets, level- and
    // edge-triggered (edge: those that had an arrival since their last report).
    [Fact]
    public void TenThousandRegistered_HundredActive_WaitReturnsExactlyTheReady()
    {
        const int registered = 10_000;
        using var h = new SocketHost(StackClock.Virtual, options => options.UdpReceiveQueueBytes = 4096);
        StackSocket sender = h.Udp();
        var sockets = new StackSocket[registered];
        var index = new Dictionary<StackSocket, int>();
        using var level = new PollSet();
        using var edge = new PollSet();
        for (int i = 0; i < registered; i++)
        {
            sockets[i] = h.BoundUdp(20_000 + i);
            index[sockets[i]] = i;
            level.Add(sockets[i], PollEvents.Readable);
            edge.Add(sockets[i], PollEvents.Readable, PollTrigger.Edge);
        }

        var unread = new int[registered];        // the model: datagrams waiting per socket
        var edgeOwed = new HashSet<int>();       // arrivals since the edge set last reported them
        var random = new Random(12);
        var ready = new ReadySocket[registered];
        for (int round = 0; round < 20; round++)
        {
            // Up to 100 sockets get a datagram; some of the ready ones are drained.
            foreach (int i in Enumerable.Range(0, 100).Select(_ => random.Next(registered)).Distinct())
            {
                Datagram(sender, 20_000 + i);
                unread[i]++;
                edgeOwed.Add(i);
            }

            WaitForArrivals(h, sender);
            int n = level.Wait(ready, 0);
            AssertSame(Enumerable.Range(0, registered).Where(i => unread[i] > 0), ready.Take(n).Select(r => index[r.Socket]));

            n = edge.Wait(ready, 0);
            AssertSame(edgeOwed, ready.Take(n).Select(r => index[r.Socket]));
            edgeOwed.Clear();
            Assert.Equal(0, edge.Wait(ready, 0));

            foreach (int i in Enumerable.Range(0, registered).Where(i => unread[i] > 0 && random.Next(2) == 0))
            {
                Assert.Equal(unread[i], Drain(sockets[i]));
                unread[i] = 0;
            }
        }

        Assert.Equal(registered, level.Count);
    }

    // The same sockets, each once.
    private static void AssertSame(IEnumerable<int> expected, IEnumerable<int> reported)
        => Assert.Equal(expected.Order().ToArray(), reported.Order().ToArray());

    // Every datagram sent so far has been delivered: a marker datagram to a socket of our own,
    // sent last, has arrived (the loopback queue delivers in order).
    private static void WaitForArrivals(SocketHost h, StackSocket sender)
    {
        using StackSocket marker = h.BoundUdp(19_999);
        Datagram(sender, 19_999);
        WaitUntilReadable(marker);
    }

    [Fact]
    public async Task WaitAsync_SocketClosed_CompletesWithInvalid()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket s = h.BoundUdp(7336);
        using var set = new PollSet();
        set.Add(s, PollEvents.Readable, userToken: "closed");
        var ready = new ReadySocket[4];
        ValueTask<int> waiting = set.WaitAsync(ready);
        Assert.False(waiting.IsCompleted);
        s.Dispose();
        Assert.Equal(1, await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((s, PollEvents.Invalid, (object?)"closed"), (ready[0].Socket, ready[0].Events, ready[0].UserToken));
        Assert.Equal(0, set.Count);
    }

    // EPOLLONESHOT's use: several threads wait on one set, each handed a socket re-arms it when
    // done. No socket is ever held by two threads at once, and every datagram is read.
    [Fact]
    public async Task OneShot_FourThreadsWaiting_EachSocketHandedToOneThreadAtATime()
    {
        const int sockets = 8, datagramsEach = 50, threads = 4;
        using var h = new SocketHost(StackClock.Real);
        StackSocket sender = h.Udp();
        StackSocket[] all = Enumerable.Range(0, sockets).Select(i => h.BoundUdp(7350 + i)).ToArray();
        var holder = new int[sockets];
        using var set = new PollSet();
        for (int i = 0; i < sockets; i++)
        {
            all[i].Blocking = false;
            set.Add(all[i], PollEvents.Readable, PollTrigger.OneShot, userToken: i);
        }

        int read = 0, overlaps = 0;
        using var stop = new CancellationTokenSource();
        Task[] workers = Enumerable.Range(1, threads).Select(thread => Task.Run(() =>
        {
            var ready = new ReadySocket[2];
            while (!stop.IsCancellationRequested)
            {
                int n = set.Wait(ready, 20);
                for (int r = 0; r < n; r++)
                {
                    int i = (int)ready[r].UserToken!;
                    if (Interlocked.CompareExchange(ref holder[i], thread, 0) != 0)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    Interlocked.Add(ref read, Drain(all[i]));
                    Thread.Yield();
                    holder[i] = 0;
                    set.Modify(all[i], PollEvents.Readable, PollTrigger.OneShot, i);
                }
            }
        })).ToArray();

        for (int d = 0; d < datagramsEach; d++)
        {
            // Paced, so that the stack's loopback queue (256 packets) never overflows.
            Assert.True(SpinWait.SpinUntil(() => d * sockets - Volatile.Read(ref read) < 128, 10_000));
            for (int i = 0; i < sockets; i++)
            {
                Datagram(sender, 7350 + i);
            }
        }

        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref read) == sockets * datagramsEach, 20_000), $"{read} read");
        stop.Cancel();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(0, overlaps);
    }

    // Registrations added, removed and closed from one thread while another waits and a third
    // sends: nothing throws or deadlocks, and afterwards no socket is watched by the set.
    [Fact]
    public async Task AddRemoveClose_WhileWaitingAndEventsFlow_SetAndSocketsConsistentAfterwards()
    {
        const int ports = 16;
        using var h = new SocketHost(StackClock.Real);
        StackSocket sender = h.Udp();
        using var set = new PollSet();
        using var stop = new CancellationTokenSource();
        Task waiter = Task.Run(() =>
        {
            var ready = new ReadySocket[8];
            while (!stop.IsCancellationRequested)
            {
                int n = set.Wait(ready, 5);
                for (int i = 0; i < n; i++)
                {
                    try
                    {
                        ready[i].Socket.Receive(new byte[64], StackSocketFlags.DontWait, out _);
                    }
                    catch (ObjectDisposedException)
                    {
                        // closed by the other thread since (or Invalid: closed before) the wait
                    }
                }
            }
        });
        Task sending = Task.Run(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                Datagram(sender, 7370 + (i % ports));
                Thread.Yield();
            }
        });

        var random = new Random(7370);
        var open = new StackSocket?[ports];
        var used = new List<StackSocket>();
        for (int step = 0; step < 3000; step++)
        {
            int p = random.Next(ports);
            if (open[p] is not { } s)
            {
                s = open[p] = h.BoundUdp(7370 + p);
                used.Add(s);
                set.Add(s, PollEvents.Readable, (PollTrigger)random.Next(4));
            }
            else if (random.Next(3) == 0)
            {
                Assert.True(set.Remove(s));
                s.Dispose();
                open[p] = null;
            }
            else if (random.Next(2) == 0)
            {
                s.Dispose(); // the waiter hears Invalid and the set drops it
                open[p] = null;
            }
            else
            {
                set.Modify(s, PollEvents.Readable | PollEvents.Writable, (PollTrigger)random.Next(4));
            }
        }

        stop.Cancel();
        await Task.WhenAll(waiter, sending).WaitAsync(TimeSpan.FromSeconds(10));
        foreach (StackSocket? s in open)
        {
            s?.Dispose();
        }

        while (set.Wait(_ready, 0) > 0)
        {
            // the last closes, reported Invalid
        }

        Assert.Equal(0, set.Count);
        Assert.All(used, s => Assert.Equal(0, s.WatcherCount));
    }

    [Fact]
    public async Task Poll_Blocked_WatchesOnlyItsOwnSocketsAndLeavesThemOnReturn()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket x = h.BoundUdp(7340);
        StackSocket y = h.BoundUdp(7341);
        StackSocket z = h.BoundUdp(7342);
        StackSocket sender = h.Udp();
        var set = new[] { new PollDescriptor(x, PollEvents.Readable), new PollDescriptor(y, PollEvents.Readable) };
        Task<int> polling = Task.Run(() => StackSocket.Poll(set, 10_000));
        Assert.True(SpinWait.SpinUntil(() => x.WatcherCount == 1 && y.WatcherCount == 1, 5000));
        Assert.Equal(0, z.WatcherCount);

        Datagram(sender, 7342); // an event on a socket it does not watch does not end it
        WaitUntilReadable(z);
        await Task.Delay(50);
        Assert.False(polling.IsCompleted);

        Datagram(sender, 7341);
        Assert.Equal(1, await polling.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(PollEvents.Readable, set[1].ReturnedEvents);
        Assert.Equal((0, 0, 0), (x.WatcherCount, y.WatcherCount, z.WatcherCount));
    }

    [Fact]
    public async Task Poll_SocketsOfTwoHosts_WakesOnEither()
    {
        using var h1 = new SocketHost(StackClock.Real);
        using var h2 = new SocketHost(StackClock.Real);
        StackSocket one = h1.BoundUdp(7343);
        StackSocket two = h2.BoundUdp(7343);
        var set = new[] { new PollDescriptor(one, PollEvents.Readable), new PollDescriptor(two, PollEvents.Readable) };
        Task<int> polling = Task.Run(() => StackSocket.Poll(set, 10_000));
        await Task.Delay(50);
        Assert.False(polling.IsCompleted);
        Datagram(h2.Udp(), 7343);
        Assert.Equal(1, await polling.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((PollEvents.None, PollEvents.Readable), (set[0].ReturnedEvents, set[1].ReturnedEvents));
    }

    [Fact]
    public async Task Poll_SocketClosedWhileBlocked_ReportsInvalid()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket s = h.BoundUdp(7344);
        var set = new[] { new PollDescriptor(s, PollEvents.Readable) };
        Task<int> polling = Task.Run(() => StackSocket.Poll(set, 10_000));
        Assert.True(SpinWait.SpinUntil(() => s.WatcherCount == 1, 5000));
        s.Dispose();
        Assert.Equal(1, await polling.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(PollEvents.Invalid, set[0].ReturnedEvents);
    }

    // A writer that found the buffer full (Linux's SOCK_NOSPACE) is what lets an ACK wake the
    // watchers: a poll(2) blocked for Writable on a full buffer must hear it.
    [Fact]
    public async Task Poll_WritableOnFullSendBuffer_WokenWhenTheReaderMakesRoom()
    {
        using var h = new SocketHost(StackClock.Real);
        (StackSocket client, StackSocket server) = h.Pair(7345);
        client.Blocking = false;

        // Until the peer's window is shut too: then no ACK makes room before the reader reads.
        long sent = 0;
        do
        {
            sent += FillSendBuffer(client);
        }
        while (client.Poll(100_000, SelectMode.SelectWrite));

        var set = new[] { new PollDescriptor(client, PollEvents.Writable) };
        Task<int> polling = Task.Run(() => StackSocket.Poll(set, 10_000));
        Assert.True(SpinWait.SpinUntil(() => client.WatcherCount == 1, 5000));
        Receive(server, sent);
        Assert.Equal(1, await polling.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(PollEvents.Writable, set[0].ReturnedEvents);
    }

    // select(2) with one socket in two lists watches it twice and leaves it twice.
    [Fact]
    public async Task Select_SocketInReadAndErrorLists_BlocksUntilReadableThenUnwatched()
    {
        using var h = new SocketHost(StackClock.Real);
        StackSocket s = h.BoundUdp(7346);
        var read = new System.Collections.ArrayList { s };
        var error = new System.Collections.ArrayList { s };
        Task selecting = Task.Run(() => StackSocket.Select(read, null, error, 10_000_000));
        Assert.True(SpinWait.SpinUntil(() => s.WatcherCount == 2, 5000));
        Datagram(h.Udp(), 7346);
        await selecting.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((1, 0), (read.Count, error.Count));
        Assert.Equal(0, s.WatcherCount);
    }
}
