namespace TunStack;

/// <summary>
/// An owner of several timers that takes their expiries itself, so that its <see cref="TimerEntry"/>s
/// need no delegate or closure each (a TCP connection has five, and there may be 100,000 connections).
/// </summary>
internal interface ITimerTarget
{
    /// <summary>The timer created with <paramref name="tag"/> fired at <paramref name="now"/>.</summary>
    void OnTimer(int tag, Instant now);
}
