// The descriptors the shim has handed out, by number.
using TunStack.Sockets;

namespace TunStack.PacketdrillShim;

/// <summary>
/// Maps descriptor numbers to sockets. Each number is a descriptor on /dev/null that the table
/// opened: a real, unique number that packetdrill may close() itself at the end of a script.
/// </summary>
internal sealed class DescriptorTable
{
    private readonly Dictionary<int, SocketDescriptor> _open = new();

    /// <summary>Gives <paramref name="socket"/> a descriptor; -errno when no descriptor can be opened.</summary>
    public int Add(StackSocket socket, bool nonBlocking)
    {
        int number = Libc.OpenPlaceholder();
        if (number >= 0)
        {
            _open[number] = new SocketDescriptor(number, socket, nonBlocking);
        }

        return number;
    }

    /// <summary>The descriptor numbered <paramref name="number"/>, if the shim handed it out.</summary>
    public bool TryGet(int number, out SocketDescriptor descriptor)
        => _open.TryGetValue(number, out descriptor!);

    /// <summary>close(2): forgets the descriptor and closes its placeholder, so the number can be handed out again.</summary>
    public void Remove(SocketDescriptor descriptor)
    {
        _open.Remove(descriptor.Number);
        Libc.ClosePlaceholder(descriptor.Number);
    }

    /// <summary>
    /// At the end of the session: disposes every socket still open, but closes no descriptor:
    /// packetdrill has closed them already, and their numbers may be in use by something else now.
    /// </summary>
    public void DisposeAll()
    {
        foreach (SocketDescriptor descriptor in _open.Values)
        {
            descriptor.Socket.Dispose();
        }

        _open.Clear();
    }
}
