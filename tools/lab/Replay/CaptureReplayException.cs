namespace TunStack.Lab.Replay;

/// <summary>A capture could not be replayed: the file is missing or not a capture, or libpcap is not installed. The message is one line for the user.</summary>
public sealed class CaptureReplayException : Exception
{
    /// <summary>Creates the exception with its one-line message.</summary>
    public CaptureReplayException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its one-line message and the error behind it.</summary>
    public CaptureReplayException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public CaptureReplayException()
        : base("the capture could not be replayed")
    {
    }
}
