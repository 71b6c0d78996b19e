namespace TunStack.Lab;

/// <summary>A scenario host while it runs: its stack and its port on its link.</summary>
internal sealed class LabHost
{
    public LabHost(LabHostSpec spec, int mtu, int seed)
    {
        Spec = spec;
        Port = new LabHostPort(mtu);
        Stack = new NetworkStack(Port, LabHostSettings.Create(spec, seed));
    }

    public LabHostSpec Spec { get; }

    public LabHostPort Port { get; }

    public NetworkStack Stack { get; }

    /// <summary>The stack must be polled at the current instant even without input or a due timer (an application acted on it, or it has work left).</summary>
    public bool PollDue { get; set; } = true;

    /// <summary>The host's address of the family a flow uses.</summary>
    public Ip.InternetAddress Address(bool v6) => (v6 ? Spec.V6 : Spec.V4)!.Value.Address;
}
