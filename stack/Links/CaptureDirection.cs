namespace TunStack.Links;

/// <summary>Which way a captured packet went, from the stack's point of view.</summary>
public enum CaptureDirection
{
    /// <summary>Received by the stack.</summary>
    Inbound = 1,
    /// <summary>Sent by the stack.</summary>
    Outbound = 2,
}
