namespace TunStack;

/// <summary>
/// A token bucket on the stack's time: refilled at <c>perSecond</c>, holding at most <c>burst</c>
/// tokens. Per stack instance; it limits ICMP errors (RFC 1812 4.3.2.8, RFC 4443 2.4(f)) and TCP
/// challenge ACKs (RFC 5961 7).
/// </summary>
internal sealed class TokenBucket
{
    private readonly double _perMicrosecond;
    private readonly double _burst;
    private double _tokens;
    private Instant _last;

    public TokenBucket(int perSecond, int burst)
    {
        _perMicrosecond = perSecond / 1_000_000.0;
        _burst = Math.Max(1, burst);
        _tokens = _burst;
    }

    public bool TryTake(Instant now)
    {
        if (now > _last)
        {
            _tokens = Math.Min(_burst, _tokens + (now.Microseconds - _last.Microseconds) * _perMicrosecond);
            _last = now;
        }

        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }
}
