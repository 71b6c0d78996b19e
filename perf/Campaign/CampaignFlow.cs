using System.Globalization;
using TunStack.Ip;
using TunStack.Tcp;

namespace TunStack.Perf.Campaign;

/// <summary>
/// Two applications and the TCP connection(s) between them in a simulation campaign: a client on
/// one stack, a server listening on another, doing what <see cref="Kind"/> says, each checking
/// every byte it receives against <see cref="StreamPattern"/>. Driven by <see cref="Step"/> from
/// the simulation loop; never blocks.
/// </summary>
internal sealed class CampaignFlow
{
    private const int ChunkSize = 16 * 1024;
    private static readonly TimeSpan ServerGiveUpAfterAbort = TimeSpan.FromSeconds(10);

    private readonly NetworkStack _client;
    private readonly InternetEndpoint _serverEndpoint;
    private readonly TcpAcceptor _acceptor;
    private readonly byte[] _buffer = new byte[ChunkSize];
    private readonly StreamPatternWindow _clientBytes = new(ChunkSize), _serverBytes = new(ChunkSize);

    // What the kind asks for.
    private readonly long _size;            // client -> server bytes (per request for RequestResponse and ShortConnections)
    private readonly long _replySize;       // server -> client bytes (HalfClose)
    private readonly int _rounds;           // requests, or connections for ShortConnections
    private readonly TimeSpan _abortAfter, _readInterval, _hold;
    private readonly int _readChunk;

    // The current connection pair and its progress.
    private TcpConnection? _c, _s;
    private int _round;
    private long _cSent, _cReceived, _sReceived, _sSent;
    private bool _cDone, _sDone, _cFinSent, _cAborted, _sEof;
    private Instant _establishedAt, _abortedAt, _nextRead, _holdUntil;

    public CampaignFlow(int id, CampaignFlowKind kind, NetworkStack client, NetworkStack server, InternetEndpoint serverEndpoint, Random random)
    {
        Id = id;
        Kind = kind;
        _client = client;
        _serverEndpoint = serverEndpoint;
        _acceptor = server.ListenTcp(serverEndpoint, 16, out StackError error)
            ?? throw new InvalidOperationException($"flow {id}: listen on {serverEndpoint}: {error}");
        _rounds = 1;
        switch (kind)
        {
            case CampaignFlowKind.Bulk: _size = LogUniform(random, 1, 2_000_000); break;
            case CampaignFlowKind.RequestResponse: _size = LogUniform(random, 1, 20_000); _rounds = random.Next(1, 51); break;
            case CampaignFlowKind.HalfClose: _size = LogUniform(random, 1, 300_000) - 1; _replySize = LogUniform(random, 1, 300_000) - 1; break;
            case CampaignFlowKind.Abort: _size = LogUniform(random, 10_000, 2_000_000); _abortAfter = TimeSpan.FromMilliseconds(random.Next(0, 3000)); break;
            case CampaignFlowKind.SlowReader:
                _size = LogUniform(random, 10_000, 300_000);
                _readInterval = TimeSpan.FromMilliseconds(random.Next(5, 51));
                _readChunk = random.Next(256, 4097);
                break;
            case CampaignFlowKind.ZeroWindow: _size = LogUniform(random, 300_000, 1_500_000); _hold = TimeSpan.FromMilliseconds(random.Next(500, 5001)); break;
            case CampaignFlowKind.ShortConnections: _size = LogUniform(random, 1, 3_000); _rounds = random.Next(2, 21); break;
        }
    }

    public int Id { get; }

    public CampaignFlowKind Kind { get; }

    /// <summary>Both applications finished every round.</summary>
    public bool Done { get; private set; }

    /// <summary>Why the flow failed (a byte that differs, an unexpected error), or null.</summary>
    public string? Failure { get; private set; }

    /// <summary>Bytes the applications moved so far (sent plus received): progress for the stall check.</summary>
    public long Progress { get; private set; }

    public string Describe() => Kind switch
    {
        CampaignFlowKind.RequestResponse => $"flow {Id} {Kind} {_rounds} x {_size} B -> {_serverEndpoint}",
        CampaignFlowKind.HalfClose => $"flow {Id} {Kind} {_size} B, reply {_replySize} B -> {_serverEndpoint}",
        CampaignFlowKind.Abort => $"flow {Id} {Kind} {_size} B, reset after {_abortAfter.TotalMilliseconds} ms -> {_serverEndpoint}",
        CampaignFlowKind.SlowReader => $"flow {Id} {Kind} {_size} B, {_readChunk} B every {_readInterval.TotalMilliseconds} ms -> {_serverEndpoint}",
        CampaignFlowKind.ZeroWindow => $"flow {Id} {Kind} {_size} B, server reads after {_hold.TotalMilliseconds} ms -> {_serverEndpoint}",
        CampaignFlowKind.ShortConnections => $"flow {Id} {Kind} {_rounds} connections x {_size} B -> {_serverEndpoint}",
        _ => $"flow {Id} {Kind} {_size} B -> {_serverEndpoint}",
    };

    /// <summary>Stops listening (after every flow is done) and closes a server connection nobody took.</summary>
    public void StopListening()
    {
        _acceptor.Close();
        while (_acceptor.TryAccept(out TcpConnection? stray))
        {
            stray!.Close();
        }
    }

    /// <summary>Does what the applications can do now; returns when they next want to act on their own (a timed read, the reset), or MaxValue.</summary>
    public Instant Step(Instant now)
    {
        if (Done || Failure is not null)
        {
            return Instant.MaxValue;
        }

        if (_c is null && !_cDone)
        {
            _c = _client.ConnectTcp(_serverEndpoint, out StackError error);
            if (_c is null)
            {
                return Fail($"connect: {error}");
            }
        }

        if (_s is null && !_sDone && _acceptor.TryAccept(out TcpConnection? accepted))
        {
            _s = accepted;
            _holdUntil = now + _hold;
        }

        Instant wake = Instant.MaxValue;
        if (!_cDone && _c is not null)
        {
            wake = Instant.Min(wake, StepClient(now));
        }

        if (!_sDone && Failure is null)
        {
            wake = Instant.Min(wake, StepServer(now));
        }

        if (Failure is null && _cDone && _sDone)
        {
            if (++_round < (Kind == CampaignFlowKind.ShortConnections ? _rounds : 1))
            {
                // The next short connection.
                _c = _s = null;
                _cSent = _cReceived = _sReceived = _sSent = 0;
                _cDone = _sDone = _cFinSent = _sEof = false;
                return Step(now);
            }

            Done = true;
        }

        return wake;
    }

    private ulong ClientStream => ((ulong)Id << 32) | (uint)(2 * _round);

    private ulong ServerStream => ((ulong)Id << 32) | (uint)((2 * _round) + 1);

    private Instant StepClient(Instant now)
    {
        TcpConnection c = _c!;
        if (c.Error != StackError.None)
        {
            return Fail($"client: {c.Error} in {c.State}");
        }

        if (c.State is TcpConnectionState.SynSent or TcpConnectionState.SynReceived)
        {
            return Instant.MaxValue; // the handshake is not done yet
        }

        if (_establishedAt == default)
        {
            _establishedAt = now;
        }

        switch (Kind)
        {
            case CampaignFlowKind.RequestResponse:
            case CampaignFlowKind.ShortConnections:
            {
                // Request i is the stream's bytes [i * size, (i + 1) * size); its echo comes back whole before request i + 1.
                int requests = Kind == CampaignFlowKind.RequestResponse ? _rounds : 1;
                long request = _cReceived / Math.Max(1, _size);
                if (_cReceived == requests * _size)
                {
                    c.Close();
                    _cDone = true;
                    return Instant.MaxValue;
                }

                if (!SendPattern(c, _clientBytes, ClientStream, ref _cSent, (request + 1) * _size) || !ReadPattern(c, ClientStream, ref _cReceived, int.MaxValue, out bool eof))
                {
                    return Instant.MaxValue;
                }

                if (eof)
                {
                    return Fail($"client: end of stream after {_cReceived} of {requests * _size} echoed bytes");
                }

                if (_cReceived == requests * _size)
                {
                    c.Close();
                    _cDone = true;
                }

                return Instant.MaxValue;
            }

            case CampaignFlowKind.HalfClose:
                if (!_cFinSent)
                {
                    if (!SendPattern(c, _clientBytes, ClientStream, ref _cSent, _size))
                    {
                        return Instant.MaxValue;
                    }

                    if (_cSent == _size)
                    {
                        c.Shutdown();
                        _cFinSent = true;
                    }
                }

                if (ReadPattern(c, ServerStream, ref _cReceived, int.MaxValue, out bool end) && end)
                {
                    if (_cReceived != _replySize)
                    {
                        return Fail($"client: end of stream after {_cReceived} of {_replySize} reply bytes");
                    }

                    c.Close();
                    _cDone = true;
                }

                return Instant.MaxValue;

            default:
            {
                // Bulk, Abort, SlowReader, ZeroWindow: send the stream, then close (or reset part way).
                Instant abortAt = _establishedAt + _abortAfter;
                if (Kind == CampaignFlowKind.Abort && now >= abortAt)
                {
                    c.Abort();
                    _cAborted = true;
                    _abortedAt = now;
                    _cDone = true;
                    return Instant.MaxValue;
                }

                if (SendPattern(c, _clientBytes, ClientStream, ref _cSent, _size) && _cSent == _size)
                {
                    c.Close();
                    _cDone = true;
                    return Instant.MaxValue;
                }

                return Kind == CampaignFlowKind.Abort ? abortAt : Instant.MaxValue;
            }
        }
    }

    private Instant StepServer(Instant now)
    {
        if (_s is null)
        {
            if (_cAborted && now >= _abortedAt + ServerGiveUpAfterAbort)
            {
                _sDone = true; // the reset came before the server took the connection
                return Instant.MaxValue;
            }

            return _cAborted ? _abortedAt + ServerGiveUpAfterAbort : Instant.MaxValue;
        }

        TcpConnection s = _s;
        if (s.Error != StackError.None)
        {
            if (_cAborted && s.Error is StackError.ConnectionReset or StackError.BrokenPipe)
            {
                s.Close();
                _sDone = true;
                return Instant.MaxValue;
            }

            return Fail($"server: {s.Error} in {s.State}");
        }

        switch (Kind)
        {
            case CampaignFlowKind.RequestResponse:
            case CampaignFlowKind.ShortConnections:
            {
                // Echo: every byte read goes back (the same stream, so the client checks it).
                if (!ReadPattern(s, ClientStream, ref _sReceived, int.MaxValue, out bool eof) || !SendPattern(s, _serverBytes, ClientStream, ref _sSent, _sReceived))
                {
                    return Instant.MaxValue;
                }

                if (eof && _sSent == _sReceived)
                {
                    s.Close();
                    _sDone = true;
                }

                return Instant.MaxValue;
            }

            case CampaignFlowKind.HalfClose:
            {
                if (!_sEof)
                {
                    if (!ReadPattern(s, ClientStream, ref _sReceived, int.MaxValue, out _sEof) || !_sEof)
                    {
                        return Instant.MaxValue;
                    }

                    if (_sReceived != _size)
                    {
                        return Fail($"server: end of stream after {_sReceived} of {_size} bytes");
                    }
                }

                if (SendPattern(s, _serverBytes, ServerStream, ref _sSent, _replySize) && _sSent == _replySize)
                {
                    s.Close();
                    _sDone = true;
                }

                return Instant.MaxValue;
            }

            default:
            {
                if (_cAborted && now >= _abortedAt + ServerGiveUpAfterAbort)
                {
                    // The reset was lost: the server's application gives up and closes (its FIN draws a reset).
                    s.Close();
                    _sDone = true;
                    return Instant.MaxValue;
                }

                int limit = int.MaxValue;
                if (Kind == CampaignFlowKind.ZeroWindow && now < _holdUntil)
                {
                    return _holdUntil;
                }

                if (Kind == CampaignFlowKind.SlowReader)
                {
                    if (now < _nextRead)
                    {
                        return _nextRead;
                    }

                    limit = _readChunk;
                    _nextRead = now + _readInterval;
                }

                if (!ReadPattern(s, ClientStream, ref _sReceived, limit, out bool eof))
                {
                    return Instant.MaxValue;
                }

                if (eof)
                {
                    if (_sReceived != _size && !_cAborted)
                    {
                        return Fail($"server: end of stream after {_sReceived} of {_size} bytes");
                    }

                    s.Close();
                    _sDone = true;
                    return Instant.MaxValue;
                }

                Instant wake = Kind == CampaignFlowKind.SlowReader ? _nextRead : Instant.MaxValue;
                return _cAborted ? Instant.Min(wake, _abortedAt + ServerGiveUpAfterAbort) : wake;
            }
        }
    }

    // Sends the stream's bytes [sent, until); false (with Failure set) on an error.
    private bool SendPattern(TcpConnection connection, StreamPatternWindow bytes, ulong stream, ref long sent, long until)
    {
        while (sent < until)
        {
            int n = (int)Math.Min(ChunkSize, until - sent);
            int taken = connection.Send(bytes.Bytes(stream, sent, n), out StackError error);
            if (error == StackError.WouldBlock)
            {
                return true;
            }

            if (error != StackError.None)
            {
                Fail($"send: {error} in {connection.State}");
                return false;
            }

            if (taken == 0)
            {
                return true;
            }

            sent += taken;
            Progress += taken;
        }

        return true;
    }

    // Reads up to limit bytes, checking each against the stream; eof when the peer's FIN has been read.
    private bool ReadPattern(TcpConnection connection, ulong stream, ref long received, int limit, out bool eof)
    {
        eof = false;
        while (limit > 0)
        {
            int n = connection.Receive(_buffer.AsSpan(0, Math.Min(ChunkSize, limit)), out StackError error);
            if (n > 0)
            {
                int bad = StreamPattern.FirstMismatch(_buffer.AsSpan(0, n), stream, received);
                if (bad >= 0)
                {
                    Fail(string.Create(CultureInfo.InvariantCulture, $"byte {received + bad} of stream {stream:x} differs"));
                    return false;
                }

                received += n;
                Progress += n;
                limit -= n;
                continue;
            }

            if (error == StackError.None)
            {
                eof = true;
                return true;
            }

            if (error == StackError.WouldBlock)
            {
                return true;
            }

            if (_cAborted && error is StackError.ConnectionReset or StackError.BrokenPipe)
            {
                return true; // seen by the caller through the connection's Error
            }

            Fail($"receive: {error} in {connection.State}");
            return false;
        }

        return true;
    }

    private Instant Fail(string message)
    {
        Failure ??= $"{Describe()}, round {_round}: {message}";
        return Instant.MaxValue;
    }

    private static long LogUniform(Random random, long min, long max) => (long)Math.Round(Math.Exp(random.NextDouble() * (Math.Log(max) - Math.Log(min))) * min);
}
