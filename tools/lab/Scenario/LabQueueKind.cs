namespace TunStack.Lab;

/// <summary>The queue disciplines a link's output queue can use.</summary>
internal enum LabQueueKind
{
    /// <summary>Drop arrivals when full, counted in packets or bytes.</summary>
    DropTail,

    /// <summary>Random Early Detection (Floyd and Jacobson).</summary>
    Red,

    /// <summary>Controlled Delay (RFC 8289).</summary>
    CoDel,
}
