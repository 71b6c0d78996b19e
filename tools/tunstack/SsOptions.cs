using TunStack.Ip;

namespace TunStack.Cli;

/// <summary>
/// What <c>tunstack ss</c> shows, in ss's letters: -t TCP, -u UDP (neither: both), -l listening
/// sockets only, -a all (listening, connected and TIME-WAIT), -n numeric ports, -i TCP internals,
/// -m socket memory, -o timers, -p the process (the daemon), -e extended (uid, v6only, shutdown);
/// then an optional <see cref="SsFilter"/> (<c>state established dport = :80</c>). Without -l, -a
/// or a state filter, as ss: connected sockets, not listening, bound-only UDP, SYN-RECV or TIME-WAIT ones.
/// </summary>
public sealed record SsOptions(bool Tcp, bool Udp, bool Listening, bool All, bool Numeric, bool Info, bool Memory, bool Timers = false, bool Processes = false, bool Extended = false)
{
    private const string Letters = "tulanimope";

    /// <summary>The state filter and the endpoint expression (everything passes when none was given).</summary>
    public SsFilter Filter { get; init; } = SsFilter.Everything;

    /// <summary>TCP sockets are shown (-t, or neither -t nor -u).</summary>
    public bool ShowsTcp => Tcp || !Udp;

    /// <summary>UDP sockets are shown (-u, or neither -t nor -u).</summary>
    public bool ShowsUdp => Udp || !Tcp;

    /// <summary>
    /// Reads flags such as "-t", "-tan" or "-i" (the request line's words after "ss"), then the
    /// filter words. Returns null with a one-line <paramref name="problem"/> for anything else.
    /// </summary>
    public static SsOptions? Parse(IEnumerable<string> words, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(words);
        var set = new HashSet<char>();
        List<string> list = words.ToList();
        int flags = 0;
        for (; flags < list.Count && list[flags].StartsWith('-'); flags++)
        {
            string word = list[flags];
            if (word.Length < 2 || word[1] == '-' || word.Skip(1).Any(c => !Letters.Contains(c, StringComparison.Ordinal)))
            {
                problem = $"ss: unknown option '{word}' (the options are -t -u -l -a -n -i -m -o -p -e, then a filter)";
                return null;
            }

            set.UnionWith(word.Skip(1));
        }

        if (SsFilter.Parse(list.Skip(flags).ToList(), out problem) is not { } filter)
        {
            return null;
        }

        return new SsOptions(set.Contains('t'), set.Contains('u'), set.Contains('l'), set.Contains('a'), set.Contains('n'), set.Contains('i'), set.Contains('m'), set.Contains('o'), set.Contains('p'), set.Contains('e')) { Filter = filter };
    }

    /// <summary>The request words for these options: "-t -a -n", then the filter's words.</summary>
    public IEnumerable<string> ToWords()
    {
        bool[] flags = [Tcp, Udp, Listening, All, Numeric, Info, Memory, Timers, Processes, Extended];
        return Letters.Where((_, i) => flags[i]).Select(c => "-" + c).Concat(Filter.Words);
    }

    /// <summary>Whether a socket in ss state <paramref name="state"/> is shown: the state filter when there is one, else -l and -a.</summary>
    public bool ShowsState(string state)
    {
        if (Filter.States is { } states)
        {
            return states.Contains(state);
        }

        bool listening = state is SocketEntry.Listen or SocketEntry.Unconnected;
        if (All)
        {
            return true;
        }

        return Listening ? listening : !listening && state is not (SocketEntry.TimeWait or SocketEntry.SynReceived);
    }

    /// <summary>Whether a socket in <paramref name="state"/> between <paramref name="local"/> and <paramref name="peer"/> is shown (state, then the filter's expression).</summary>
    public bool Shows(string state, InternetEndpoint local, InternetEndpoint? peer) => ShowsState(state) && Filter.Matches(local, peer);
}
