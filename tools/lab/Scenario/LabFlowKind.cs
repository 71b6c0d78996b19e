namespace TunStack.Lab;

/// <summary>What a flow's applications do.</summary>
internal enum LabFlowKind
{
    /// <summary>TCP: send a number of bytes, or until the flow stops.</summary>
    Bulk,

    /// <summary>TCP: requests and responses of given sizes, a number of them or one per interval.</summary>
    RequestResponse,

    /// <summary>TCP: send while on, pause while off, repeatedly.</summary>
    OnOff,

    /// <summary>UDP: datagrams of one size at a constant rate.</summary>
    UdpConstantBitRate,
}
