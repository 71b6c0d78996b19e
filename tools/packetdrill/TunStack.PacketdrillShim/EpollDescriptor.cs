// One epoll instance handed to packetdrill: a placeholder descriptor standing for a PollSet.
using TunStack.Sockets;

namespace TunStack.PacketdrillShim;

/// <summary>
/// An epoll descriptor (epoll_create): the number of a placeholder on /dev/null, the
/// <see cref="PollSet"/> it stands for, and the buffer its waits are reported into.
/// </summary>
internal sealed class EpollDescriptor
{
    private ReadySocket[] _ready = new ReadySocket[8];

    public EpollDescriptor(int number)
    {
        Number = number;
    }

    /// <summary>The descriptor number packetdrill uses.</summary>
    public int Number { get; }

    /// <summary>The sockets registered with epoll_ctl.</summary>
    public PollSet Set { get; } = new();

    /// <summary>Room for at least <paramref name="count"/> reports (grown only when a wait asks for more than before).</summary>
    public ReadySocket[] ReadyBuffer(int count)
    {
        if (_ready.Length < count)
        {
            _ready = new ReadySocket[count];
        }

        return _ready;
    }
}
